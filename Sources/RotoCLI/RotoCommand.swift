import ArgumentParser
import Foundation
import RotoClient

/// The `roto` command tree.
public struct RotoCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "roto",
        abstract: "Roto: Kling-compatible video selection and editing, self-hosted.",
        discussion: """
        roto serve runs the server; the other commands are its client. They find the server and the key in \
        --server/--key (or --access-key/--secret-key) or ROTO_SERVER/ROTO_KEY (ROTO_ACCESS_KEY/ROTO_SECRET_KEY).
        From a local MP4 to a removal result:
          roto init clip.mp4
          roto select <session> --frame 0 --point 0.5,0.5
          roto preview <session>
          roto edit <session> --mode removal --prompt "remove it" --wait --download out/
        Exit status: 0 success, 1 API error (code and message on stderr), 2 usage error.
        """,
        subcommands: [Serve.self, Init.self, Select.self, Unselect.self, Clear.self, Preview.self, Masks.self,
                      SessionCommand.self, Edit.self, TaskCommand.self, Tasks.self, OpenAPI.self]
    )

    public init() {}
}

/// Entry point for the `roto` executable (kept here so that `main.swift` stays one line).
public enum RotoMain {
    /// Exit status of a usage error (ArgumentParser's own default is 64).
    public static let usageExitCode: Int32 = 2
    /// Exit status of an API error.
    public static let apiErrorExitCode: Int32 = 1

    /// Runs the command line and exits with its status.
    public static func run() async {
        let status = await execute(Array(CommandLine.arguments.dropFirst()))
        exit(status)
    }

    /// Parses and runs `arguments` (without the program name); returns the exit status: 0 success,
    /// 1 API error (`error <code>: <message> (request <id>)` on stderr), 2 usage error.
    public static func execute(_ arguments: [String]) async -> Int32 {
        // The parsed subcommand's type, so that a usage error raised while it runs prints its own usage.
        var commandType: any ParsableCommand.Type = RotoCommand.self
        do {
            var command = try RotoCommand.parseAsRoot(arguments)
            commandType = type(of: command)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let error as RotoClientError {
            Terminal.err(error.description)
            return apiErrorExitCode
        } catch {
            let code = RotoCommand.exitCode(for: error)
            var message = RotoCommand.fullMessage(for: error)
            if code == .validationFailure && commandType != RotoCommand.self {
                // Raised while the subcommand ran (a file that does not exist): its own usage line.
                message = "Error: \(RotoCommand.message(for: error))\nUsage: \(RotoCommand.usageString(for: commandType))"
            }
            if code == .success {
                if !message.isEmpty { Terminal.out(message) }
                return 0
            }
            if !message.isEmpty { Terminal.err(message) }
            if code == .validationFailure { return usageExitCode }
            return code.rawValue
        }
    }
}
