namespace Sandbox.Network;

/// <summary>
/// What DEL needs, kept in <c>netns/&lt;id&gt;/attachment.json</c> from before ADD until after DEL, so a sandbox
/// killed with SIGKILL is torn down by the next attach or by <c>sandbox prune</c>.
/// </summary>
public sealed record AttachmentRecord
{
    public required string Id { get; init; }
    public required string Network { get; init; }
    /// <summary>The configuration list the chain ran with (the network may have changed or gone since).</summary>
    public required string ConfList { get; init; }
    public required string IfName { get; init; }
    public required string Netns { get; init; }
    public required string CniArgs { get; init; }
    public string? PortMappings { get; init; }
    /// <summary>ADD's result (null until ADD finished): DEL's prevResult.</summary>
    public string? Result { get; init; }
    /// <summary><c>container</c> or <c>vm</c>.</summary>
    public required string Kind { get; init; }
    public DateTime Created { get; init; }
}
