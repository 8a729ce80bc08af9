/// What a conversion wrote: the machine-readable summary behind `--report`.
public struct ConversionReport: Codable, Sendable {
    public struct Instance: Codable, Sendable {
        public var file: String
        public var kind: String
        public var level: Int?
        public var width: Int
        public var height: Int
        public var tileWidth: Int
        public var tileHeight: Int
        public var frames: Int
        public var transferSyntax: String
        public var photometricInterpretation: String
        /// Frames copied from the source without re-encoding.
        public var copiedFrames: Int
        public var bytes: Int
        public var extendedOffsetTable: Bool
        /// Written around the page cache (O_DIRECT).
        public var directWrites: Bool
    }

    public var input: String
    public var format: String
    public var outputDirectory: String
    public var studyInstanceUID: String
    public var seriesInstanceUID: String
    public var instances: [Instance] = []
    public var threads: Int
    /// Things the user should know about the output (assumed values, skipped images).
    public var warnings: [String] = []
    public var seconds: Double = 0
    public var pyramidSeconds: Double = 0
    public var associatedSeconds: Double = 0
}
