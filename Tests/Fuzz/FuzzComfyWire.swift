// libFuzzer target for ComfyWire: the JSON parser, both serialization styles and PromptValidator.
//
// Not a SwiftPM target: Tests/Fuzz/run.sh compiles this file together with Sources/ComfyWire/**
// into one module named ComfyWire (hence no `import ComfyWire`) with -sanitize=fuzzer,address.
//
// For every input that parses as JSON it checks:
// * serialization round trip, `.python` and `.compact`: the text parses back to the same value,
//   strings and keys compared scalar by scalar (not by Swift's canonical equivalence), and
//   serializing that again gives the same bytes; `.python` output is pure ASCII;
// * every number: the `JSONNumber` accessors do not trap, and a finite double's Python-repr literal
//   parses back as a JSON number to the same double;
// * PromptValidator on the value itself and on its `"prompt"` member (the POST /prompt body shape),
//   against a fixed catalog read from Tests/Fuzz/object_info.json: the 400 body and the coerced
//   prompt serialize round trip, accepted outputs are output nodes of the prompt, and validating
//   the coerced prompt again accepts the same outputs and coerces nothing further (a fixed point).
//   Partial execution (`partialExecutionTargets`) and `executionOrder` run unchecked.
// A violated check ends the run with fatalError, which libFuzzer reports as a crash.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The catalog file: `$FUZZ_OBJECT_INFO`, else `Tests/Fuzz/object_info.json` from the repo root.
private func readCatalogFile() -> [UInt8] {
    let path = getenv("FUZZ_OBJECT_INFO").map { String(cString: $0) } ?? "Tests/Fuzz/object_info.json"
    guard let file = fopen(path, "rb") else { fatalError("fuzz: cannot open object_info catalog \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return bytes
}

/// The input files LoadImage's own validation finds (as in the recorded `/object_info/LoadImage`).
private let inputImages: Set<String> = ["acceptance-mask.png", "acceptance-rgb.png"]

/// Built once, on the first input; the catalog is built as the coordinator builds its fleet catalog.
private let validator: PromptValidator = {
    let info: JSONValue
    do { info = try JSONValue(parsing: readCatalogFile()) } catch { fatalError("fuzz: object_info catalog: \(error)") }
    guard case .object(let classes) = info, !classes.isEmpty else { fatalError("fuzz: object_info catalog is not an object") }
    var catalog: [String: NodeClass] = [:]
    for (name, classInfo) in classes {
        guard let nodeClass = NodeClass(name: name, objectInfo: classInfo) else { fatalError("fuzz: bad class \(name)") }
        catalog[name] = nodeClass
    }
    return PromptValidator(
        catalog: catalog, context: CatalogContext(inputImages: inputImages.sorted()),
        fileExists: { inputImages.contains($0) })
}()

private func fail(_ what: String, _ texts: [UInt8]...) -> Never {
    for text in texts {
        let block = Array("----\n".utf8) + text + [0x0A]
        _ = block.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count) }
    }
    fatalError("fuzz: \(what)")
}

/// Equality that compares strings and keys by their Unicode scalars, so a round trip that changed
/// a string's bytes into a canonically equivalent form still counts as a mismatch.
private func identical(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.number(let x), .number(let y)): return x.literal.utf8.elementsEqual(y.literal.utf8)
    case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
    case (.object(let x), .object(let y)):
        guard x.count == y.count else { return false }
        return zip(x, y).allSatisfy { left, right in
            left.key.unicodeScalars.elementsEqual(right.key.unicodeScalars) && identical(left.value, right.value)
        }
    default: return false
    }
}

private func checkRoundTrip(_ value: JSONValue) {
    for style in [JSONStyle.python, .compact] {
        let text = value.serialized(style)
        if style == .python, text.contains(where: { $0 >= 0x80 }) { fail("python style wrote non-ASCII", text) }
        let back: JSONValue
        do { back = try JSONValue(parsing: text) } catch { fail("serialized \(style) text does not parse: \(error)", text) }
        guard identical(back, value), back == value else { fail("\(style) round trip changed the value", text, back.serialized(style)) }
        let again = back.serialized(style)
        guard again == text else { fail("\(style) serialization is not stable", text, again) }
    }
}

private func checkNumbers(_ value: JSONValue) {
    switch value {
    case .number(let n):
        _ = (n.isInteger, n.int, n.int64, n.uint64, value.typeName, value.isTruthy, value.intValue)
        if let d = n.double, d.isFinite {
            let literal = JSONNumber(d).literal
            guard case .number? = try? JSONValue(parsing: literal), Double(literal) == d else {
                fail("JSONNumber(\(n.literal) as Double) wrote \(literal)", Array(literal.utf8))
            }
        }
    case .array(let array): array.forEach(checkNumbers)
    case .object(let object): object.values.forEach(checkNumbers)
    default: break
    }
}

private func checkValidation(_ prompt: JSONValue) {
    let outcome = validator.validate(prompt)
    switch outcome {
    case .rejected(let body):
        guard body["error"]?.objectValue != nil, body["node_errors"]?.objectValue != nil else {
            fail("rejection without error/node_errors", body.serialized(.compact))
        }
        checkRoundTrip(body)
    case .accepted(let coerced, let outputs, let nodeErrors):
        checkRoundTrip(coerced)
        checkRoundTrip(.object(nodeErrors))
        guard let graph = try? PromptGraph(json: prompt), !outputs.isEmpty else { fail("accepted without outputs", prompt.serialized(.compact)) }
        for id in outputs {
            guard let classType = graph[id]?.classType, validator.catalog[classType]?.isOutputNode == true else {
                fail("accepted output \(id) is not an output node", prompt.serialized(.compact))
            }
        }
        _ = graph.executionOrder(outputs: outputs)
        switch validator.validate(coerced) {
        case .accepted(let again, let againOutputs, _):
            guard againOutputs == outputs, identical(again, coerced) else {
                fail("validating the coerced prompt changed it", coerced.serialized(.compact), again.serialized(.compact))
            }
        case .rejected(let body):
            fail("the coerced prompt is rejected", coerced.serialized(.compact), body.serialized(.compact))
        }
        // Partial execution of one output: exercised, not checked, since a node on a cycle can be
        // judged differently from another entry point (ComfyUI's memo behaves the same way).
        _ = validator.validate(prompt, partialExecutionTargets: [outputs[outputs.count - 1]])
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzComfyWire(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: size > 0 ? data : nil, count: size)
    guard let value = try? JSONValue(parsing: bytes) else { return 0 }
    checkRoundTrip(value)
    checkNumbers(value)
    checkValidation(value)
    if let prompt = value["prompt"] { checkValidation(prompt) }
    return 0
}
