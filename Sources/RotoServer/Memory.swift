#if canImport(Glibc)
import Glibc
#endif

/// The C allocator's retained memory. A removal frees gigabytes at once; glibc keeps freed pages in its
/// arenas, so without a trim the server would hold a finished task's peak until the next one reuses it.
enum Memory {
    /// Returns the allocator's free pages to the system (glibc's `malloc_trim`, looked up at run time:
    /// `<malloc.h>` is not part of the Glibc module; nothing elsewhere).
    static func returnFreedPages() {
        #if canImport(Glibc)
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(nil, "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
        #endif
    }
}
