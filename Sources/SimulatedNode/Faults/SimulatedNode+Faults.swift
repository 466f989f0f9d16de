import ComfyWire

extension SimulatedNode {
    /// Injects a fault (tests call this directly; `POST /sim/faults` when the profile enables it).
    public func inject(_ fault: Fault) {
        switch fault {
        case .failNextPrompts(let count, let message):
            faults.failNext = count
            faults.failMessage = message
        case .hang(let on):
            faults.hang = on
        case .slowResponses(let seconds):
            faults.responseDelay = seconds
        case .stallRequests(let routes):
            faults.stalled = Set(routes)
        case .dropWebSockets:
            dropAllSockets()
        case .refuseWebSockets(let on):
            faults.refuseWebSockets = on
            if on { dropAllSockets() }
        case .freeze(let on):
            faults.frozen = on
        case .refuseConnections(let seconds):
            isDown = true
            dropAllSockets()
            serverControl?.yield(.goDown(seconds: seconds))
        case .crashAndRestart(let downSeconds):
            isDown = true
            forgetEverything()
            serverControl?.yield(.goDown(seconds: downSeconds))
        }
    }

    /// What every HTTP request checks first: whether the node is down, and the slow-response delay. The request
    /// (`METHOD /path?query`) is kept in `requestLog`.
    func requestGate(_ request: String) -> (down: Bool, delay: Double) {
        requestLog.append(request)
        if requestLog.count > 2000 { requestLog.removeFirst(requestLog.count - 1000) }
        return (isDown, faults.responseDelay)
    }

    func setDown(_ down: Bool) { isDown = down }

    var acceptsWebSockets: Bool { !faults.refuseWebSockets }

    var isFrozen: Bool { faults.frozen }

    /// Returns once the node is not frozen (at once when it is not).
    func untilThawed() async {
        while faults.frozen, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// Returns once requests to `route` (`METHOD /path`) are not stalled (at once when they are not).
    func untilUnstalled(_ route: String) async {
        func stalled() -> Bool {
            faults.stalled.contains { $0 == route || ($0.hasSuffix("*") && route.hasPrefix($0.dropLast())) }
        }
        while stalled(), !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
    }

    func dropAllSockets() {
        for session in sessions.values { session.finish() }
        sessions.removeAll()
        sockets.removeAll()
    }

    /// What a ComfyUI restart loses: queue, history, counter, cache, VRAM, temp files, sockets.
    func forgetEverything() {
        generation += 1
        dropAllSockets()
        pending.removeAll()
        running = nil
        runningNode = nil
        history.removeAll()
        cache.removeAll()
        cachedNodeIDs.removeAll()
        counter = 0
        interruptRequested = false
        faults = FaultState()
        gpu.unloadAll()
        files.clearTemp()
        workSignal?.yield()
    }
}

extension Fault {
    /// The JSON form `POST /sim/faults` takes, e.g. `{"fault": "crash_and_restart", "down_seconds": 2}`.
    public init?(json: JSONValue) {
        switch json["fault"]?.stringValue {
        case "fail_next_prompts"?:
            self = .failNextPrompts(
                count: json["count"]?.intValue ?? 1,
                message: json["message"]?.stringValue ?? "Simulated node failure")
        case "hang"?: self = .hang(json["on"]?.boolValue ?? true)
        case "crash_and_restart"?: self = .crashAndRestart(downSeconds: json["down_seconds"]?.doubleValue ?? 1)
        case "drop_websockets"?: self = .dropWebSockets
        case "refuse_websockets"?: self = .refuseWebSockets(json["on"]?.boolValue ?? true)
        case "freeze"?: self = .freeze(json["on"]?.boolValue ?? true)
        case "slow_responses"?: self = .slowResponses(seconds: json["seconds"]?.doubleValue ?? 0)
        case "refuse_connections"?: self = .refuseConnections(seconds: json["seconds"]?.doubleValue ?? 1)
        default: return nil
        }
    }
}
