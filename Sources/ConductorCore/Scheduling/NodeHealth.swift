/// Health of a node link, as the runtime judges it (with hysteresis).
///
/// Only `.up` nodes receive new prompts; `.suspect` ones keep what they hold but get nothing new.
public enum NodeHealth: String, Sendable, Hashable, Codable {
    case up, suspect, down
}
