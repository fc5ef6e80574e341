using System.Text.Json.Nodes;

namespace Sandbox.Network;

/// <summary>
/// The CNI configuration list of a network: the chain podman and containerd use. <c>bridge</c> (veth into the
/// sandbox's namespace, the Linux bridge, the gateway address, IP masquerade for the sandbox's address) with
/// <c>host-local</c> IPAM (leases under our root), <c>portmap</c> (DNAT for published ports, SNAT for hairpin and
/// localhost), <c>firewall</c> (FORWARD accepts for the sandbox's address). An internal network has no gateway, no
/// masquerade, no routes and no portmap.
/// </summary>
internal static class NetworkChain
{
    public const string CniVersion = "1.0.0";

    public static JsonObject ConfList(NetworkConfig network, string ipamDir)
    {
        var range = new JsonObject { ["subnet"] = network.Subnet };
        if (!network.Internal) range["gateway"] = network.Gateway;
        var ipam = new JsonObject
        {
            ["type"] = "host-local",
            ["ranges"] = new JsonArray(new JsonArray(range)),
            ["routes"] = network.Internal ? new JsonArray() : new JsonArray(new JsonObject { ["dst"] = "0.0.0.0/0" }),
            ["dataDir"] = ipamDir,
        };
        var plugins = new JsonArray();
        plugins.Add((JsonNode)new JsonObject
            {
                ["type"] = "bridge",
                ["bridge"] = network.Bridge,
                ["isGateway"] = !network.Internal,
                ["ipMasq"] = !network.Internal,
                ["hairpinMode"] = true,
                ["ipam"] = ipam,
            });
        if (!network.Internal)
            plugins.Add((JsonNode)new JsonObject { ["type"] = "portmap", ["capabilities"] = new JsonObject { ["portMappings"] = true } });
        plugins.Add((JsonNode)new JsonObject { ["type"] = "firewall" });
        return new JsonObject { ["cniVersion"] = CniVersion, ["name"] = network.Name, ["plugins"] = plugins };
    }
}
