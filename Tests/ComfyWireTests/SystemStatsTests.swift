import ComfyWire
import Testing

@Suite struct SystemStatsTests {
    @Test func recordedStatsSerializeBackToTheSameText() throws {
        let stats = try SystemStats(json: JSONValue(parsing: Recorded.systemStats))
        #expect(stats.json.jsonString(.python) == Recorded.systemStats)
    }

    @Test func recordedStatsAreTyped() throws {
        let stats = try SystemStats(json: JSONValue(parsing: Recorded.systemStats))
        #expect(stats.system.os == "linux")
        #expect(stats.system.ramTotal == 25_274_793_984)
        #expect(stats.system.comfyuiVersion == "0.8.0")
        #expect(stats.system.requiredFrontendVersion == "1.35.9")
        #expect(stats.system.embeddedPython == false)
        #expect(stats.system.argv.first == "main.py")
        #expect(stats.system.extra.isEmpty)
        #expect(
            stats.devices == [
                SystemStats.Device(
                    name: "cpu", type: "cpu", index: nil, vramTotal: 25_274_793_984, vramFree: 22_854_557_696,
                    torchVramTotal: 25_274_793_984, torchVramFree: 22_854_557_696)
            ])
    }

    @Test func newerKeysAreKeptAfterTheKnownOnes() throws {
        let text =
            #"{"system":{"os":"linux","ram_total":1,"ram_free":1,"comfyui_version":"0.26.0","comfy_package_versions":[{"name":"comfyui-frontend-package","installed":"1.2","required":"1.2"}],"python_version":"3.12","pytorch_version":"2.9","embedded_python":false,"deploy_environment":"local-git","argv":["main.py"]},"devices":[{"name":"cuda:0 NVIDIA H100 80GB HBM3 : cudaMallocAsync","type":"cuda","index":0,"vram_total":85,"vram_free":84,"torch_vram_total":0,"torch_vram_free":0,"uuid":"GPU-1"}],"node_id":"n1"}"#
        let stats = try SystemStats(json: JSONValue(parsing: text))
        #expect(stats.system.requiredFrontendVersion == nil)
        #expect(stats.system.extra.keys == ["comfy_package_versions", "deploy_environment"])
        #expect(stats.devices[0].index == 0)
        #expect(stats.devices[0].extra == ["uuid": "GPU-1"])
        #expect(stats.extra == ["node_id": "n1"])
        #expect(
            stats.json.jsonString(.compact)
                == #"{"system":{"os":"linux","ram_total":1,"ram_free":1,"comfyui_version":"0.26.0","python_version":"3.12","pytorch_version":"2.9","embedded_python":false,"argv":["main.py"],"comfy_package_versions":[{"name":"comfyui-frontend-package","installed":"1.2","required":"1.2"}],"deploy_environment":"local-git"},"devices":[{"name":"cuda:0 NVIDIA H100 80GB HBM3 : cudaMallocAsync","type":"cuda","index":0,"vram_total":85,"vram_free":84,"torch_vram_total":0,"torch_vram_free":0,"uuid":"GPU-1"}],"node_id":"n1"}"#
        )
    }

    @Test func missingRequiredKeyIsNamed() throws {
        let text = #"{"system":{"os":"linux","ram_total":1,"ram_free":1},"devices":[]}"#
        let error = try #require(throws: WireFormatError.self) { try SystemStats(json: JSONValue(parsing: text)) }
        #expect(error.message == #"system_stats system: missing "comfyui_version""#)
    }
}
