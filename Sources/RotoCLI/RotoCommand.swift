import ArgumentParser

/// The `roto` command tree.
public struct RotoCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "roto",
        abstract: "Roto: Kling-compatible video selection and editing, self-hosted.",
        subcommands: [Serve.self]
    )

    public init() {}
}

/// Entry point for the `roto` executable (kept here so that `main.swift` stays one line).
public enum RotoMain {
    public static func run() async {
        await RotoCommand.main()
    }
}
