#if canImport(FoundationXML)
import FoundationXML
#else
import Foundation
#endif
import Metrics
import XCTest

/// The JUnit files of `run --junit` and `test --junit` must stay well-formed XML 1.0 whatever
/// a check name, a test name or a failure message holds.
final class XMLTextTests: XCTestCase {
    func testMarkupIsEscapedAndControlCharactersOtherThanWhitespaceAreLeftOut() {
        XCTAssertEqual(XMLText.escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;")
        // A character reference to U+0001 would be as invalid as the character itself.
        XCTAssertEqual(XMLText.escape("bell\u{7}\u{1}\tand\nnewline\r"), "bell\tand\nnewline\r")
        XCTAssertEqual(XMLText.escape("✓ ünïcode"), "✓ ünïcode")
    }

    func testTheEscapedTextParsesBackAsTheSameAttributeValue() throws {
        let name = "odd <name> & \"quotes\" \u{1b}[31m"
        let doc = try XMLDocument(xmlString: "<testcase name=\"\(XMLText.escape(name))\"/>")
        XCTAssertEqual(doc.rootElement()?.attribute(forName: "name")?.stringValue, "odd <name> & \"quotes\" [31m")
    }
}
