/// The levels of the pyramid to write: each half the one above (odd sizes round up), down to the first
/// level that fits in one tile, or fewer when asked. Keeping the source's pyramid, the scanner's levels
/// come first as they are and the halving starts from the last of them.
public struct PyramidPlan: Sendable, Equatable {
    public struct Level: Sendable, Equatable {
        public var width: Int
        public var height: Int
        public var tileWidth: Int
        public var tileHeight: Int
        /// Level-0 pixels per pixel of this level (along the width for the scanner's levels).
        public var downsample: Double
        /// One of the source's own levels, copied; otherwise computed by halving the level above.
        public var copiedFromSource: Bool

        /// The downsample for people: "4", or "4.02" for a scanner's level that is not exactly 4x.
        public var downsampleText: String {
            downsample == downsample.rounded() ? String(Int(downsample)) : String(format: "%.2f", downsample)
        }
    }

    public var levels: [Level]

    /// A dyadic pyramid from level 0.
    public static func plan(width: Int, height: Int, tileWidth: Int, tileHeight: Int, maxLevels: Int? = nil) -> PyramidPlan {
        plan(levelZero: (width, height), copied: [], tileWidth: tileWidth, tileHeight: tileHeight, maxLevels: maxLevels)
    }

    /// `copied` (width, height, tile width, tile height) of the source's levels kept as they are, level 0
    /// first; then halvings of the last of them (or of level 0) in tiles of the given size.
    public static func plan(levelZero: (width: Int, height: Int), copied: [(Int, Int, Int, Int)], tileWidth: Int, tileHeight: Int,
                            maxLevels: Int? = nil) -> PyramidPlan {
        var levels = copied.map { w, h, tw, th in
            Level(width: w, height: h, tileWidth: tw, tileHeight: th, downsample: Double(levelZero.width) / Double(w), copiedFromSource: true)
        }
        if levels.isEmpty {
            levels = [Level(width: levelZero.width, height: levelZero.height, tileWidth: tileWidth, tileHeight: tileHeight, downsample: 1,
                            copiedFromSource: false)]
        }
        if let maxLevels, levels.count > maxLevels { levels.removeLast(levels.count - max(1, maxLevels)) }
        while levels.count < (maxLevels ?? Int.max) {
            let last = levels[levels.count - 1]
            if last.width <= tileWidth && last.height <= tileHeight { break }
            levels.append(Level(width: (last.width + 1) / 2, height: (last.height + 1) / 2, tileWidth: tileWidth, tileHeight: tileHeight,
                                downsample: last.downsample * 2, copiedFromSource: false))
        }
        return PyramidPlan(levels: levels)
    }
}
