/// Value representations of explicit VR encoding.
public enum VR: String, Sendable {
    case AE, AS, AT, CS, DA, DS, DT, FL, FD, IS, LO, LT, OB, OD, OF, OL, OV, OW, PN, SH, SL, SQ, SS, ST, SV, TM, UC, UI, UL, UN, UR, US, UT, UV

    /// VRs whose explicit encoding has two reserved bytes and a 32-bit length.
    public var hasLongLength: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .SQ, .SV, .UC, .UN, .UR, .UT, .UV: return true
        default: return false
        }
    }

    /// The byte that pads a value to even length.
    var padding: UInt8 {
        switch self {
        case .UI, .OB, .UN, .OV, .OW, .OD, .OF, .OL: return 0
        default: return 0x20
        }
    }

    var isText: Bool {
        switch self {
        case .AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT: return true
        default: return false
        }
    }
}
