import ComfyWire
import Testing

@Suite struct FileReferenceTests {
    @Test(
        arguments: [
            ("cat.png", "", "cat.png", nil),
            ("pasted/image (1).png", "pasted", "image (1).png", nil),
            ("clipspace/clipspace-mask-1719.png [input]", "clipspace", "clipspace-mask-1719.png", .input),
            ("ComfyUI_00001_.png [output]", "", "ComfyUI_00001_.png", .output),
            ("webcam/123.png [temp]", "webcam", "123.png", .temp),
            ("a/b/c.png", "a/b", "c.png", nil),
            ("3d/模型 🎨.glb [output]", "3d", "模型 🎨.glb", .output)
        ] as [(String, String, String, FileReference.Kind?)])
    func documentedValuesParseAndPrintBack(
        value: String, subfolder: String, filename: String, kind: FileReference.Kind?
    ) {
        let reference = FileReference(parsing: value)
        #expect(reference == FileReference(subfolder: subfolder, filename: filename, annotation: kind))
        #expect(reference.stringValue == value)
        #expect(FileReference.looksAnnotated(value) == (kind != nil))
    }

    @Test func annotationWithoutSpaceEatsTheLastCharacterOfTheName() {
        let reference = FileReference(parsing: "x.png[temp]")
        #expect(reference.filename == "x.pn")
        #expect(reference.annotation == .temp)
        #expect(reference.stringValue == "x.pn [temp]")
    }

    @Test func annotationAloneLeavesAnEmptyName() {
        #expect(FileReference(parsing: "[input]") == FileReference(filename: "", annotation: .input))
        #expect(FileReference(parsing: " [output]") == FileReference(filename: "", annotation: .output))
    }

    @Test func strippingCountsUnicodeScalarsAsPythonDoes() {
        // "e" + combining acute is one Swift character but two Python code points.
        let reference = FileReference(parsing: "cafe\u{301}[temp]")
        #expect(reference.filename == "cafe")
    }

    @Test func pathJoinsSubfolderAndFilename() {
        #expect(FileReference(subfolder: "sub", filename: "x.png").path == "sub/x.png")
        #expect(FileReference(filename: "x.png", annotation: .temp).path == "x.png")
    }

    @Test func kindFallsBackToTheCallersDefault() {
        #expect(FileReference(parsing: "cat.png").kind(default: .input) == .input)
        #expect(FileReference(parsing: "cat.png").kind(default: .output) == .output)
        #expect(FileReference(parsing: "cat.png [temp]").kind(default: .input) == .temp)
    }

    @Test(arguments: ["x.png [inputs]", "x.png [Input]", "x.png (input)", "[output] x.png", ""])
    func valuesWithoutAnExactSuffixAreNotAnnotated(value: String) {
        #expect(!FileReference.looksAnnotated(value))
        #expect(FileReference(parsing: value).annotation == nil)
        #expect(FileReference(parsing: value).stringValue == value)
    }
}
