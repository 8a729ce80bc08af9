import Dispatch
import Foundation
import WSIPyramid

/// On Ctrl-C or SIGTERM during a conversion, removes what the run left in the output folder (partial
/// files and instances written so far) and exits 130, so an interrupted run never looks complete.
final class InterruptCleanup: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private let folder: String
    private let started = Date()

    init(folder: String) {
        self.folder = folder
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in
                cleanUp()
                FileHandle.standardError.write(Data("\ndicomizer: interrupted; removed the partial output in \(folder)\n".utf8))
                exit(130)
            }
            source.resume()
            sources.append(source)
        }
    }

    private func cleanUp() {
        OutputFolder.removeOutput(ofRun: getpid(), startedAt: started, in: folder)
    }

    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
