namespace Sandbox.Container;

/// <summary>
/// The host id range a user-namespaced sandbox's ids map to: the <c>sandbox</c> entry of /etc/subuid and /etc/subgid
/// when present, else 100000-165535 (root in the sandbox is an unprivileged uid on the host).
/// </summary>
public sealed record IdMapping(uint HostUid, uint HostGid, uint Count)
{
    public const string SubordinateName = "sandbox";

    public static IdMapping ForSandboxes()
    {
        var (uid, ucount) = Read("/etc/subuid") ?? (100000u, 65536u);
        var (gid, gcount) = Read("/etc/subgid") ?? (100000u, 65536u);
        return new IdMapping(uid, gid, Math.Min(ucount, gcount));
    }

    private static (uint Start, uint Count)? Read(string path)
    {
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path))
        {
            var parts = line.Split(':');
            if (parts.Length == 3 && parts[0] == SubordinateName && uint.TryParse(parts[1], out var start) && uint.TryParse(parts[2], out var count))
                return (start, count);
        }
        return null;
    }

    /// <summary>Writes the child's uid_map and gid_map (as root of the parent namespace, so setgroups stays allowed).</summary>
    public void Apply(int pid)
    {
        File.WriteAllText($"/proc/{pid}/uid_map", $"0 {HostUid} {Count}\n");
        File.WriteAllText($"/proc/{pid}/gid_map", $"0 {HostGid} {Count}\n");
    }
}
