using System.Globalization;
using System.Text.Json;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Network;

/// <summary>
/// The named networks under <c>&lt;root&gt;/networks</c>: one JSON file each, the member table of each
/// (<c>&lt;name&gt;.hosts</c>), and host-local's leases (<c>ipam/</c>). Changes are serialized by a lock file.
/// </summary>
public sealed class NetworkStore
{
    public const string DefaultNetwork = "sandbox0";
    /// <summary>sandbox0's subnet; user networks get the next free /24 above it.</summary>
    public const string DefaultSubnet = "10.55.0.0/24";

    public NetworkStore(SandboxPaths paths) => Dir = Path.Combine(paths.Root, "networks");

    public string Dir { get; }
    public string IpamDir => Path.Combine(Dir, "ipam");
    public string HostsPath(string name) => Path.Combine(Dir, name + ".hosts");
    private string ConfigPath(string name) => Path.Combine(Dir, name + ".json");

    public static void ValidateName(string name)
    {
        if (name.Length is 0 or > 64 || !char.IsAsciiLetterOrDigit(name[0])
            || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            throw new NetworkException(NetworkFailure.InvalidInput,
                $"invalid network name '{name}': letters, digits, '-', '_' and '.', starting with a letter or digit");
        if (name is "none" or "host" or "bridge" or "default")
            throw new NetworkException(NetworkFailure.InvalidInput, $"'{name}' is a reserved network name");
    }

    /// <summary>The network, creating the default <c>sandbox0</c> on first use.</summary>
    public NetworkConfig Get(string name)
    {
        if (TryRead(name) is NetworkConfig c) return c;
        if (name == DefaultNetwork)
        {
            try { return Create(DefaultNetwork, null, internalOnly: false); }
            catch (NetworkException e) when (e.Failure == NetworkFailure.AlreadyExists) { return TryRead(name)!; }
        }
        throw new NetworkException(NetworkFailure.NotFound, $"network '{name}' not found (see 'sandbox network ls'; 'sandbox network create {name}' makes it)");
    }

    public NetworkConfig? TryRead(string name)
    {
        if (name.Contains('/') || name.StartsWith('.')) return null;
        try { return JsonSerializer.Deserialize(File.ReadAllBytes(ConfigPath(name)), NetworkJsonContext.Default.NetworkConfig); }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        catch (JsonException e) { throw new NetworkException(NetworkFailure.Host, $"network '{name}': {ConfigPath(name)} is corrupt: {e.Message}", e); }
    }

    public IReadOnlyList<NetworkConfig> List()
    {
        if (!Directory.Exists(Dir)) return [];
        return Directory.EnumerateFiles(Dir, "*.json")
            .Select(f => TryRead(Path.GetFileNameWithoutExtension(f)))
            .OfType<NetworkConfig>()
            .OrderBy(n => n.Name, StringComparer.Ordinal)
            .ToArray();
    }

    public NetworkConfig Create(string name, string? subnet, bool internalOnly)
    {
        ValidateName(name);
        using var _ = Lock();
        if (TryRead(name) is not null)
            throw new NetworkException(NetworkFailure.AlreadyExists, $"network '{name}' already exists");
        var existing = List();
        var hostRoutes = HostRoutes.Read(existing.Select(n => n.Bridge).ToHashSet());
        Subnet chosen;
        if (subnet is not null)
        {
            chosen = Subnet.Parse(subnet);
            foreach (var n in existing)
                if (chosen.Overlaps(Subnet.Parse(n.Subnet)))
                    throw new NetworkException(NetworkFailure.SubnetOverlap, $"subnet {chosen} overlaps network '{n.Name}' ({n.Subnet})");
            foreach (var (route, dev) in hostRoutes)
                if (chosen.Overlaps(route))
                    throw new NetworkException(NetworkFailure.SubnetOverlap, $"subnet {chosen} overlaps the host's route {route} on {dev}");
        }
        else
        {
            chosen = FreeSubnet(existing, hostRoutes)
                ?? throw new NetworkException(NetworkFailure.SubnetOverlap, "no free /24 left in 10.55.0.0/16: give one with --subnet");
        }
        // The bridge is made now, not at the first attach: its name and (with the gateway address on it) its subnet's
        // route then claim both host-wide, so another state root on this host picks others.
        var bridge = CreateBridge(existing, internalOnly ? null : (chosen.First, chosen.PrefixLength));
        var config = new NetworkConfig
        {
            Name = name,
            Bridge = bridge,
            Subnet = chosen.ToString(),
            Gateway = chosen.First.ToString(),
            Internal = internalOnly,
            Created = DateTime.UtcNow,
        };
        try
        {
            Directory.CreateDirectory(Dir);
            var tmp = ConfigPath(name) + ".tmp";
            File.WriteAllBytes(tmp, JsonSerializer.SerializeToUtf8Bytes(config, NetworkJsonContext.Default.NetworkConfig));
            File.Move(tmp, ConfigPath(name));
        }
        catch
        {
            DeleteBridge(bridge);
            throw;
        }
        return config;
    }

    /// <summary>Removes a network with no members: its bridge, leases, member table and config.</summary>
    public void Remove(string name, Func<string, bool> hasMembers)
    {
        using var _ = Lock();
        var config = TryRead(name) ?? throw new NetworkException(NetworkFailure.NotFound, $"network '{name}' not found");
        if (hasMembers(name))
            throw new NetworkException(NetworkFailure.InUse, $"network '{name}' has running sandboxes; stop them first");
        DeleteBridge(config.Bridge);
        try { Directory.Delete(Path.Combine(IpamDir, name), recursive: true); } catch (DirectoryNotFoundException) { }
        File.Delete(HostsPath(name));
        File.Delete(ConfigPath(name));
    }

    /// <summary>Sets the bridge down and deletes it (the bridge plugin never removes the bridges it makes).</summary>
    internal static void DeleteBridge(string bridge)
    {
        if (!Directory.Exists("/sys/class/net/" + bridge)) return;
        try
        {
            using var control = NetDevice.OpenControlSocket();
            NetDevice.SetUp(control, bridge, false);
            NetDevice.DeleteBridge(control, bridge);
        }
        catch (ErrnoException e)
        {
            throw new NetworkException(NetworkFailure.Host, $"cannot delete bridge {bridge}: {e.Message}", e);
        }
    }

    internal FileLockHandle Lock() => FileLockHandle.Acquire(Path.Combine(Dir, ".lock"));

    private static Subnet? FreeSubnet(IReadOnlyList<NetworkConfig> existing, IReadOnlyList<(Subnet Route, string Dev)> routes)
    {
        var taken = existing.Select(n => Subnet.Parse(n.Subnet)).Concat(routes.Select(r => r.Route)).ToArray();
        var start = Subnet.Parse(DefaultSubnet);
        for (uint i = 0; i < 256; i++)
        {
            var candidate = new Subnet(start.Network + (i << 8), 24);
            if (!taken.Any(t => t.Overlaps(candidate))) return candidate;
        }
        return null;
    }

    /// <summary>The first free <c>sbxN</c>, created (SIOCBRADDBR), with the gateway address on it unless internal.</summary>
    private static string CreateBridge(IReadOnlyList<NetworkConfig> existing, (System.Net.IPAddress Address, int Prefix)? gateway)
    {
        try
        {
            using var control = NetDevice.OpenControlSocket();
            for (int i = 0; i < 1000; i++)
            {
                var name = "sbx" + i.ToString(CultureInfo.InvariantCulture);
                if (existing.Any(n => n.Bridge == name) || !NetDevice.AddBridge(control, name)) continue;
                try
                {
                    if (gateway is var (address, prefix))
                    {
                        NetDevice.SetAddress(control, name, address, prefix);
                        NetDevice.SetUp(control, name, true);
                    }
                }
                catch
                {
                    NetDevice.DeleteBridge(control, name);
                    throw;
                }
                return name;
            }
        }
        catch (ErrnoException e)
        {
            throw new NetworkException(NetworkFailure.Host, $"cannot create a bridge: {e.Message}", e);
        }
        throw new NetworkException(NetworkFailure.Host, "no free bridge name sbx0..sbx999");
    }
}

/// <summary>The host's IPv4 routes (<c>/proc/net/route</c>) other than the default route and our own bridges.</summary>
internal static class HostRoutes
{
    public static IReadOnlyList<(Subnet Route, string Dev)> Read(ISet<string> ownBridges)
    {
        var result = new List<(Subnet, string)>();
        foreach (var line in File.ReadLines("/proc/net/route").Skip(1))
        {
            var f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (f.Length < 8 || ownBridges.Contains(f[0])) continue;
            uint dst = uint.Parse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            uint mask = uint.Parse(f[7], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (mask == 0) continue;
            // Little-endian hex in the file.
            dst = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(dst);
            mask = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(mask);
            result.Add((new Subnet(dst, System.Numerics.BitOperations.PopCount(mask)), f[0]));
        }
        return result;
    }
}

/// <summary>An exclusive flock on a file, released on dispose (or by the kernel when the holder dies).</summary>
internal sealed class FileLockHandle : IDisposable
{
    private readonly SafeFd _fd;
    private FileLockHandle(SafeFd fd) => _fd = fd;

    public static FileLockHandle Acquire(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var fd = Files.Open(path, Files.O_RDWR | Files.O_CREAT | Files.O_CLOEXEC, 0x180);
        Files.Flock(fd, Files.LOCK_EX);
        return new FileLockHandle(fd);
    }

    public static FileLockHandle? TryAcquire(string path)
    {
        SafeFd fd;
        try { fd = Files.Open(path, Files.O_RDWR | Files.O_CLOEXEC); }
        catch (ErrnoException) { return null; }
        if (Files.Flock(fd, Files.LOCK_EX | Files.LOCK_NB)) return new FileLockHandle(fd);
        fd.Dispose();
        return null;
    }

    public void Dispose() => _fd.Dispose();
}
