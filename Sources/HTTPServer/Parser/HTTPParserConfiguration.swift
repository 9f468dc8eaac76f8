/// Limits enforced by `HTTPRequestParser`. All sizes are in bytes.
public struct HTTPParserConfiguration: Sendable, Hashable {
    /// Longest request line, CRLF included; longer gives 414. Default: 8,192 (8 KiB; RFC 9112 §3 asks for ≥ 8,000).
    public var maxRequestLineBytes: Int = 8 * 1024
    /// Largest header block (all field lines with their CRLFs, and trailers); larger gives 431. Default: 16,384.
    public var maxHeaderBytes: Int = 16 * 1024
    /// Most header fields (trailers included); more gives 431. Default: 100.
    public var maxHeaderCount: Int = 100
    /// Largest request body, after removing chunked framing; larger gives 413. Default: 1,048,576 (1 MiB).
    public var maxBodyBytes: Int = 1024 * 1024
    /// Longest chunk-size line including extensions; longer gives 400. Default: 1,024.
    public var maxChunkLineBytes: Int = 1024

    public init(
        maxRequestLineBytes: Int = 8 * 1024, maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100,
        maxBodyBytes: Int = 1024 * 1024, maxChunkLineBytes: Int = 1024
    ) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.maxChunkLineBytes = maxChunkLineBytes
    }
}
