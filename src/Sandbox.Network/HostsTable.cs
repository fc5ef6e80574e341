namespace Sandbox.Network;

/// <summary>
/// The members of one network (<c>networks/&lt;name&gt;.hosts</c>: <c>id address names...</c> per line). Each
/// member's /etc/hosts gets every member's entry at start, and each member's owning process watches this file and
/// rewrites its sandbox's /etc/hosts when members come and go (see docs/network.md, "Names"). Updates are atomic
/// renames under the store's lock.
/// </summary>
internal sealed class HostsTable(NetworkStore store, string network)
{
    public string Path => store.HostsPath(network);

    public sealed record Member(string Id, string Address, IReadOnlyList<string> Names);

    public IReadOnlyList<Member> Read()
    {
        string[] lines;
        try { lines = File.ReadAllLines(Path); }
        catch (FileNotFoundException) { return []; }
        catch (DirectoryNotFoundException) { return []; }
        var members = new List<Member>();
        foreach (var line in lines)
        {
            var f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 3) continue;
            members.Add(new Member(f[0], f[1], f[2].Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        }
        return members;
    }

    public void Add(Member member) => Update(list => [.. list.Where(m => m.Id != member.Id), member]);

    public void Remove(string id) => Update(list => [.. list.Where(m => m.Id != id)]);

    private void Update(Func<IReadOnlyList<Member>, IReadOnlyList<Member>> change)
    {
        using var _ = store.Lock();
        var updated = change(Read());
        var tmp = Path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllLines(tmp, updated.Select(m => $"{m.Id}\t{m.Address}\t{string.Join(' ', m.Names)}"));
        File.Move(tmp, Path, overwrite: true);
    }

    /// <summary>/etc/hosts lines for every member.</summary>
    public static IEnumerable<string> Lines(IEnumerable<Member> members) =>
        members.Select(m => $"{m.Address}\t{string.Join(' ', m.Names.Distinct())}");
}
