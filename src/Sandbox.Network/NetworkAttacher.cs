using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Sandbox.Core;

namespace Sandbox.Network;

/// <summary>
/// Puts sandboxes on bridge networks with the CNI plugins (see docs/network.md). A container's own network namespace
/// is pinned under <c>netns/&lt;id&gt;/netns</c> and the chain runs against it. A VM gets the same chain run against
/// a namespace made for it (its "CNI container"): the bridge plugin's veth there holds the VM's address for
/// masquerade, firewall and DEL, and is set down, while the guest's virtio-net NIC, a tap libvirt puts on the same
/// bridge, answers for that address with the same MAC. One model, one IPAM pool, one set of portmap rules.
/// </summary>
public sealed class NetworkAttacher : ISandboxNetworks
{
    private readonly SandboxPaths _paths;
    private readonly NetworkStore _store;
    private readonly ILogger _log;
    private readonly string _cniPath;

    public NetworkAttacher(SandboxPaths paths, ILoggerFactory loggerFactory, string? cniPath = null)
    {
        _paths = paths;
        _store = new NetworkStore(paths);
        _log = loggerFactory.CreateLogger<NetworkAttacher>();
        _cniPath = cniPath ?? Cni.CniPlugin.DefaultPath;
    }

    public NetworkStore Store => _store;

    /// <summary><c>&lt;root&gt;/netns</c>: one directory per attached sandbox.</summary>
    public static string AttachmentsDir(SandboxPaths paths) => Path.Combine(paths.Root, "netns");

    public Task<INetworkAttachment> AttachNamespaceAsync(SandboxSpec spec, string sandboxId, int pid, CancellationToken cancellationToken = default) =>
        AttachAsync(spec, sandboxId, pid, cancellationToken);

    public Task<INetworkAttachment> AttachGuestAsync(SandboxSpec spec, string sandboxId, CancellationToken cancellationToken = default) =>
        AttachAsync(spec, sandboxId, null, cancellationToken);

    private async Task<INetworkAttachment> AttachAsync(SandboxSpec spec, string id, int? pid, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        if (spec.Network != NetworkMode.Bridge || spec.NetworkName is null)
            throw new ArgumentException("the spec does not name a bridge network", nameof(spec));
        await new AttachmentReaper(_paths, _log, _cniPath).ReapAsync(cancellationToken).ConfigureAwait(false);

        var network = _store.Get(spec.NetworkName);
        if (network.Internal && (spec.Ports.Count > 0 || spec.PublishAll))
            throw new NetworkException(NetworkFailure.InvalidInput, $"network '{network.Name}' is internal: it has no way in, so -p/-P cannot publish ports");
        var subnet = Subnet.Parse(network.Subnet);
        if (spec.IpAddress is string wanted)
        {
            var ip = IPAddress.Parse(wanted);
            if (!subnet.Contains(ip) || Subnet.ToUInt(ip) == subnet.Network || ip.Equals(subnet.First)
                || Subnet.ToUInt(ip) == (subnet.Network | ~subnet.Mask))
                throw new NetworkException(NetworkFailure.InvalidInput, $"--ip {wanted} is not a free host address of network '{network.Name}' ({network.Subnet})");
        }
        var confList = NetworkChain.ConfList(network, _store.IpamDir);
        var chain = new Cni.CniChain(confList, _cniPath);
        chain.EnsurePluginsPresent();

        var ports = PortReservation.Reserve(spec.Ports);
        bool vm = pid is null;
        var mac = vm ? GuestMac() : null;
        var cniArgs = "IgnoreUnknown=1" + (spec.IpAddress is string a ? ";IP=" + a : "") + (mac is not null ? ";MAC=" + mac : "");
        var portMappings = new JsonArray(ports.Ports.Select(p =>
        {
            var o = new JsonObject { ["hostPort"] = p.HostPort, ["containerPort"] = p.Port, ["protocol"] = p.Protocol };
            if (p.HostIp is not null) o["hostIP"] = p.HostIp;
            return (JsonNode)o;
        }).ToArray());

        AttachmentState? state = null;
        try
        {
            state = AttachmentState.Create(AttachmentsDir(_paths), id);
            var record = new AttachmentRecord
            {
                Id = id,
                Network = network.Name,
                ConfList = confList.ToJsonString(),
                IfName = "eth0",
                Netns = state.NetnsPath,
                CniArgs = cniArgs,
                PortMappings = portMappings.ToJsonString(),
                Kind = vm ? "vm" : "container",
                Created = DateTime.UtcNow,
            };
            state.Write(record);
            try
            {
                if (pid is int p) NetNamespace.BindProcess(p, state.NetnsPath);
                else NetNamespace.Create(state.NetnsPath);
            }
            catch (Interop.Libc.ErrnoException e)
            {
                throw new NetworkException(NetworkFailure.Host, $"cannot pin the network namespace of sandbox {id}: {e.Message}", e);
            }
            var runtime = new Cni.CniRuntime(id, state.NetnsPath, "eth0", cniArgs, portMappings);
            var result = await chain.AddAsync(runtime, cancellationToken).ConfigureAwait(false);
            state.Write(record = record with { Result = result.ToJsonString() });
            var (address, prefix, resultMac) = ParseResult(result);
            if (vm)
            {
                // The guest's NIC takes over the address: the stub's veth must not answer for it.
                NetNamespace.WithControlSocket(state.NetnsPath, control => Interop.Libc.NetDevice.SetUp(control, "eth0", false));
            }

            var hostname = spec.Hostname ?? id;
            var names = new List<string>();
            if (spec.Name is { Length: > 0 } n) names.Add(n);
            names.Add(hostname);
            names.Add(id);
            var table = new HostsTable(_store, network.Name);
            table.Add(new HostsTable.Member(id, address, names.Distinct().ToArray()));
            var settings = new NetworkSettings
            {
                Network = network.Name,
                Bridge = network.Bridge,
                Address = address,
                PrefixLength = prefix,
                Gateway = network.Internal ? null : network.Gateway,
                Mac = mac ?? resultMac ?? "",
                ResolvConf = ResolvConf.Build(ResolvConf.ReadHost(), spec.Dns, network.Internal ? null : network.Gateway),
                Hosts = HostsTable.Lines(table.Read()).ToArray(),
                Ports = ports.Ports,
            };
            var attachment = new CniAttachment(state, record, chain, runtime, ports, table, settings, _log);
            NetworkLog.Attached(_log, id, network.Name, address, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return attachment;
        }
        catch
        {
            if (state is not null)
            {
                // AddAsync already ran DEL for a failed ADD; the pinned namespace and the directory go now.
                NetNamespace.Remove(state.NetnsPath);
                state.Delete();
            }
            ports.Dispose();
            throw;
        }
    }

    /// <summary>A locally administered unicast MAC in qemu's customary 52:54:00 range.</summary>
    private static string GuestMac()
    {
        // Not RandomNumberGenerator: it would load OpenSSL for three bytes that need no secrecy.
        var b = new byte[3];
        Random.Shared.NextBytes(b);
        return $"52:54:00:{b[0]:x2}:{b[1]:x2}:{b[2]:x2}";
    }

    internal static (string Address, int Prefix, string? Mac) ParseResult(JsonObject result)
    {
        var ips = result["ips"] as JsonArray;
        var first = ips?.OfType<JsonObject>().FirstOrDefault(i => ((string?)i["address"])?.Contains('.') == true)
            ?? throw new NetworkException(NetworkFailure.Plugin, "the CNI result holds no IPv4 address");
        var cidr = ((string)first["address"]!).Split('/');
        string? mac = null;
        if ((int?)first["interface"] is int idx && result["interfaces"] is JsonArray ifs && idx < ifs.Count)
            mac = (string?)ifs[idx]?["mac"];
        return (cidr[0], int.Parse(cidr[1], System.Globalization.CultureInfo.InvariantCulture), mac);
    }

    /// <summary>Whether a network has attached sandboxes (stale ones are reaped first).</summary>
    public async Task<bool> HasMembersAsync(string network, CancellationToken cancellationToken = default)
    {
        await new AttachmentReaper(_paths, _log, _cniPath).ReapAsync(cancellationToken).ConfigureAwait(false);
        var dir = AttachmentsDir(_paths);
        if (!Directory.Exists(dir)) return false;
        foreach (var d in Directory.EnumerateDirectories(dir))
        {
            if (AttachmentState.ReadRecord(d) is AttachmentRecord r && r.Network == network) return true;
        }
        return false;
    }

}
