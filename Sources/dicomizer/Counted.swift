extension Int {
    /// "1 slide", "3 slides": a count with its noun, for messages people read.
    func counted(_ noun: String) -> String { "\(self) \(noun)\(self == 1 ? "" : "s")" }
}
