import ComfyWire
import ConductorCore
import Foundation
import Testing

@Suite("cluster.json")
struct ClusterConfigTests {
    @Test("only the node list is required; everything else has its documented default")
    func defaults() throws {
        let config = try ClusterConfig(json: #"{"nodes": [{"name": "gpu-a", "url": "http://127.0.0.1:8201/"}]}"#)
        #expect(config.listen.host == "127.0.0.1" && config.listen.port == 8188)
        #expect(config.dataDirectory == "./conductor-data")
        #expect(config.pollIntervalSeconds == 0.5)
        #expect(config.scheduler == .recommended)
        #expect(config.nodes == [ClusterConfig.Node(name: "gpu-a", url: "http://127.0.0.1:8201")], "trailing slash trimmed")
        #expect(config.nodes[0].maxOutstanding == 2)
    }

    @Test("every field can be set")
    func everyField() throws {
        let config = try ClusterConfig(
            json: """
                {"listen": {"host": "0.0.0.0", "port": 9000}, "dataDirectory": "/var/lib/conductor",
                 "pollIntervalSeconds": 0.5, "objectInfoRefreshSeconds": 30, "checkpointLoadSeconds": 8,
                 "scheduler": {"affinitySlackSeconds": 2, "waitForFullNodeGainSeconds": null},
                 "auth": {"keys": [{"name": "studio", "key": "studio-key-0123456789", "weight": 2.5},
                                   {"name": "ops", "key": "ops-key-0123456789ab", "role": "admin"}]},
                 "nodes": [{"name": "a", "url": "https://a.example:8443", "headers": {"Authorization": "Bearer x"},
                            "maxOutstanding": 3, "speed": 1.5, "labels": {"rack": "1"}}]}
                """)
        #expect(config.listen == .init(host: "0.0.0.0", port: 9000))
        #expect(config.nodes[0].headers == ["Authorization": "Bearer x"] && config.nodes[0].maxOutstanding == 3)
        #expect(config.scheduler.affinitySlackSeconds == 2 && config.scheduler.waitForFullNodeGainSeconds == nil)
        #expect(config.checkpointLoadSeconds == 8)
        #expect(config.auth.keys.map(\.weight) == [2.5, 1] && config.auth.keys.map(\.role) == [.user, .admin])
    }

    @Test(
        "a bad file fails with an error naming the field",
        arguments: [
            (#"{"nodes": 3}"#, "nodes"),
            (#"{}"#, "nodes"),
            (#"{"nodes": [{"url": "http://x"}]}"#, "nodes[0].name"),
            (#"{"nodes": [{"name": "a b", "url": "http://x"}]}"#, "nodes[0].name"),
            (#"{"nodes": [{"name": "a", "url": "ftp://x"}]}"#, "nodes[0].url"),
            (#"{"nodes": [{"name": "a", "url": "http://x", "maxOutstandng": 2}]}"#, "nodes[0].maxOutstandng"),
            (#"{"nodes": [{"name": "a", "url": "http://x"}, {"name": "a", "url": "http://y"}]}"#, "nodes[1].name"),
            (#"{"nodes": [], "listen": {"port": 70000}}"#, "listen.port"),
            (#"{"nodes": [], "pollIntervalSeconds": 0}"#, "pollIntervalSeconds"),
            (#"{"nodes": [], "scheduler": {"speed": 1}}"#, "scheduler.speed"),
            (#"{"nodes": [], "dataDir": "x"}"#, "dataDir"),
            (#"{"nodes": [}"#, "(file)"),
            (#"{"nodes": [], "auth": {"keys": [{"name": "a", "key": "0123456789abcdef", "weight": 0}]}}"#, "auth.keys[0].weight")
        ])
    func badFile(text: String, key: String) {
        #expect(throws: ClusterConfigError.self) { try ClusterConfig(json: text) }
        do {
            _ = try ClusterConfig(json: text)
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.description.hasPrefix("cluster.json: \(key): "))
        }
    }

    @Test("a node object reads back what it writes, and the retry budget is set under limits")
    func nodeRoundTripAndLimits() throws {
        let node = ClusterConfig.Node(
            name: "gpu-5", url: "http://10.0.0.9:8188", headers: ["Authorization": "Bearer x"],
            maxOutstanding: 3, speed: 1.5, labels: ["rack": "2"])
        #expect(try ClusterConfig.Node(json: node.json) == node)
        #expect(performing: { try ClusterConfig.Node(json: ["name": "x"]) }, throws: { ($0 as? ClusterConfigError)?.key == "node.url" })
        let config = try ClusterConfig(json: #"{"nodes": [], "limits": {"retryBudgetFraction": 0.5, "minRetryConcurrency": 1}}"#)
        #expect(config.limits.retryBudgetFraction == 0.5 && config.limits.minRetryConcurrency == 1)
        #expect(ClusterConfig(nodes: []).limits.minRetryConcurrency == 3)
    }

    @Test("an operator's changes overlay cluster.json: removed nodes leave, stored ones replace or follow")
    func fleetOverlay() {
        let config = ClusterConfig(nodes: ["a", "b", "c"].map { ClusterConfig.Node(name: $0, url: "http://\($0)") })
        let changes = [
            FleetChange(name: "d", config: ClusterConfig.Node(name: "d", url: "http://d")),
            FleetChange(name: "b", removed: true),
            FleetChange(name: "c", config: ClusterConfig.Node(name: "c", url: "http://c2")),
            FleetChange(name: "a", draining: true),
            FleetChange(name: "e", removed: true)
        ]
        let fleet = config.fleet(with: changes)
        #expect(fleet.map(\.name) == ["a", "c", "d"])
        #expect(fleet.map(\.url) == ["http://a", "http://c2", "http://d"])
    }

    @Test("the example cluster.json at the repository root is valid")
    func exampleFileParses() throws {
        let path = String(#filePath.dropLast("Tests/ConductorCoreTests/ClusterConfigTests.swift".count)) + "cluster.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let config = try ClusterConfig(json: text)
        #expect(!config.nodes.isEmpty)
    }
}
