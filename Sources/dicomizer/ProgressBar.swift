import Foundation
import WSIPyramid

/// Progress on standard error: a redrawn bar on a terminal, a line per 10% otherwise.
final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let started = Date()
    private var lastTenth = -1
    private var drawn = false
    private let lock = NSLock()

    private let unit: String

    init(enabled: Bool, unit: String = "tile rows") {
        self.enabled = enabled
        self.unit = unit
    }

    func update(_ progress: ConversionProgress) {
        guard enabled, progress.total > 0 else { return }
        lock.withLock {
            let fraction = Double(progress.done) / Double(progress.total)
            if isTerminal {
                let width = 30
                let filled = Int(fraction * Double(width))
                let elapsed = Date().timeIntervalSince(started)
                let eta = fraction > 0 ? elapsed / fraction - elapsed : 0
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                let line = "\r\(progress.stage) [\(bar)] \(Int(fraction * 100))% \(progress.done)/\(progress.total) \(unit), \(String(format: "%.0f", eta)) s left "
                FileHandle.standardError.write(Data(line.utf8))
                drawn = true
            } else {
                let tenth = Int(fraction * 10)
                if tenth > lastTenth {
                    lastTenth = tenth
                    FileHandle.standardError.write(Data("\(progress.stage): \(tenth * 10)% (\(progress.done)/\(progress.total) \(unit))\n".utf8))
                }
            }
        }
    }

    func finish() {
        lock.withLock {
            if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        }
    }
}
