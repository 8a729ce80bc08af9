import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An XML element as plain values, read with `XMLParser`: what the vendors' descriptions need (names,
/// attributes, text, children). Foundation's `XMLDocument` on Linux keeps every document it parses alive
/// (its nodes and the document hold each other), tens of kilobytes a slide opened, so we do not use it.
struct XMLTree: Sendable {
    var name: String
    var attributes: [String: String]
    var children: [XMLTree] = []
    /// The text directly inside the element.
    var text = ""

    /// The first child of that name.
    func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }
    /// The children of that name.
    func children(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }
    /// The child at the end of a path of names.
    func descendant(_ path: [String]) -> XMLTree? { path.reduce(Optional(self)) { $0?.child($1) } }
    /// The text, trimmed.
    var value: String { text.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// How deep elements may nest. A tree is freed recursively (each element's children array releases
    /// its elements), one stack frame chain per level: 100,000 levels overflow the stack (SIGSEGV). The
    /// vendors' documents nest about ten deep; anything past this is not a slide description.
    static let maximumDepth = 256

    /// The root element of a document; nil where the text is not well-formed XML or nests too deep.
    static func parse(_ text: String) -> XMLTree? {
        // Foundation's XMLParser reads past a null pointer on a processing instruction without data (`<?x?>`,
        // found by tools/fuzz/run.sh vendor); the vendors' documents have none besides the XML declaration,
        // so a document with any other is not read.
        var body = Substring(text).drop { $0.isWhitespace || $0 == "\u{FEFF}" }
        if body.hasPrefix("<?xml "), let end = body.range(of: "?>") { body = body[end.upperBound...] }
        guard !body.contains("<?") else { return nil }
        let builder = Builder()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = builder
        guard parser.parse(), !builder.tooDeep, let root = builder.root else { return nil }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var open: [XMLTree] = []
        var root: XMLTree?
        var tooDeep = false

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            guard !tooDeep else { return }
            // Stop before the tree gets deep: the open elements are a flat array and free without recursion.
            guard open.count < XMLTree.maximumDepth else {
                tooDeep = true
                parser.abortParsing()
                return
            }
            open.append(XMLTree(name: name, attributes: attributes))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if !open.isEmpty { open[open.count - 1].text += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard !tooDeep, let element = open.popLast() else { return }
            if open.isEmpty { root = element } else { open[open.count - 1].children.append(element) }
        }
    }
}
