/// The body of `GET /system_stats`: the server's versions, memory and compute devices.
public struct SystemStats: Sendable, Hashable {
    public var system: System
    /// Every torch device, primary first.
    public var devices: [Device]
    /// Top-level keys this model does not know, kept so the body re-serializes without loss.
    public var extra: JSONObject

    public init(system: System, devices: [Device], extra: JSONObject = [:]) {
        self.system = system
        self.devices = devices
        self.extra = extra
    }

    public init(json: JSONValue) throws(WireFormatError) {
        let context = "system_stats"
        let object = try json.object(in: context)
        var devices: [Device] = []
        for device in try object.value("devices", in: context).array(in: "\(context) devices") {
            devices.append(try Device(json: device))
        }
        self.init(
            system: try System(json: try object.value("system", in: context)),
            devices: devices,
            extra: object.removingKeys(["system", "devices"])
        )
    }

    /// The body with known keys in ComfyUI's order, followed by `extra`.
    public var json: JSONValue {
        var object: JSONObject = ["system": system.json, "devices": .array(devices.map(\.json))]
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }
}
