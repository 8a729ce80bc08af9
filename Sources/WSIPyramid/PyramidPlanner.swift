/// The levels of a full dyadic pyramid: each half the one above (odd sizes round up), down to the first
/// level that fits in one tile, or fewer when asked.
public struct PyramidPlan: Sendable, Equatable {
    public struct Level: Sendable, Equatable {
        public var width: Int
        public var height: Int
        /// Level-0 pixels per pixel of this level.
        public var downsample: Int
    }

    public var levels: [Level]
    public var tileWidth: Int
    public var tileHeight: Int

    public static func plan(width: Int, height: Int, tileWidth: Int, tileHeight: Int, maxLevels: Int? = nil) -> PyramidPlan {
        var levels = [Level(width: width, height: height, downsample: 1)]
        while levels.count < (maxLevels ?? Int.max) {
            let last = levels[levels.count - 1]
            if last.width <= tileWidth && last.height <= tileHeight { break }
            levels.append(Level(width: (last.width + 1) / 2, height: (last.height + 1) / 2, downsample: last.downsample * 2))
        }
        return PyramidPlan(levels: levels, tileWidth: tileWidth, tileHeight: tileHeight)
    }
}
