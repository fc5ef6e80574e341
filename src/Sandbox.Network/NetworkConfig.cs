using System.Text.Json.Serialization;

namespace Sandbox.Network;

/// <summary>A named network as stored in <c>networks/&lt;name&gt;.json</c>: a Linux bridge, a subnet and its gateway.</summary>
public sealed record NetworkConfig
{
    public required string Name { get; init; }
    /// <summary>The Linux bridge (<c>sbxN</c>; the bridge plugin creates it on the first attach).</summary>
    public required string Bridge { get; init; }
    public required string Subnet { get; init; }
    /// <summary>The bridge's address; sandboxes route through it (none on an internal network).</summary>
    public required string Gateway { get; init; }
    /// <summary>No way out: no gateway on the bridge, no NAT, no published ports.</summary>
    public bool Internal { get; init; }
    public DateTime Created { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(NetworkConfig))]
[JsonSerializable(typeof(AttachmentRecord))]
internal sealed partial class NetworkJsonContext : JsonSerializerContext;
