// libFuzzer entry point for `RawRequestHead`, the scan `dicomizer serve` runs on every request's bytes
// before NIO's HTTP decoder: any bytes must give incomplete, unsupported or a head whose ranges lie
// inside it, and a complete head must scan the same when cut at its end and as incomplete one byte
// short. Built and run by tools/fuzz/run.sh (not part of the package build).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    _ = RawRequestHead.wholeRequestsWithoutBodies(bytes)
    guard case .complete(let head) = RawRequestHead.scan(bytes) else { return 0 }
    let length = head.length
    precondition(length >= 4 && length <= count && length <= RawRequestHead.maximumLength, "length \(length) of \(count)")
    precondition(bytes[length - 4] == 13 && bytes[length - 3] == 10 && bytes[length - 2] == 13 && bytes[length - 1] == 10,
                 "the head does not end with an empty line")
    for range in [head.target, head.accept, head.authorization, head.origin].compactMap({ $0 }) {
        precondition(range.lowerBound >= 0 && range.upperBound <= length, "a range past the head")
    }
    precondition(!head.isPlainGet || (!head.hasBody && !head.switchesProtocol && bytes.starts(with: Array("GET ".utf8))))
    guard case .complete(let again) = RawRequestHead.scan(UnsafeRawBufferPointer(rebasing: bytes[..<length])),
          again.length == length, again.isPlainGet == head.isPlainGet, again.hasBody == head.hasBody else {
        preconditionFailure("the head cut at its end scans differently")
    }
    guard case .incomplete = RawRequestHead.scan(UnsafeRawBufferPointer(rebasing: bytes[..<(length - 1)])) else {
        preconditionFailure("the head one byte short is not incomplete")
    }
    return 0
}
