namespace Sandbox.Init.Seccomp;

/// <summary>
/// docker's default seccomp profile (moby/profiles seccomp/default.json, generated into DockerProfile.g.cs): calls not
/// named fail with EPERM; named calls are allowed, some only with a capability, some only with harmless arguments
/// (clone without namespace flags, personality's safe values, socket families other than AF_ALG and AF_VSOCK); clone3
/// answers ENOSYS so that libc falls back to clone, whose flags a filter can see. See docs/container.md, "seccomp".
/// </summary>
public static partial class DockerProfile
{
    /// <summary>What the profile says about one call on one architecture.</summary>
    public sealed record Decision(string Name, uint Number, IReadOnlyList<SeccompRule> Rules);

    /// <summary>The calls the profile names for <paramref name="arch"/>, with the rules that apply, by number.</summary>
    public static IReadOnlyList<Decision> Resolve(SeccompArch arch, ISet<string> caps, Version kernel) =>
        Resolve(Rules, arch, caps, kernel);

    /// <summary>The same for any rule list (an OCI config's profile).</summary>
    public static IReadOnlyList<Decision> Resolve(IReadOnlyList<SeccompRule> rules, SeccompArch arch, ISet<string> caps, Version kernel)
    {
        var table = SyscallTable.For(arch);
        var byName = new Dictionary<string, List<SeccompRule>>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            if (!rule.AppliesTo(arch, caps, kernel)) continue;
            foreach (var name in rule.Names)
            {
                if (!table.ContainsKey(name)) continue; // a call this architecture does not have
                if (!byName.TryGetValue(name, out var list)) byName[name] = list = [];
                list.Add(rule);
            }
        }
        var decisions = new List<Decision>();
        foreach (var (name, named) in byName)
        {
            // An unconditional rule decides alone (as in libseccomp, where it supersedes conditional ones).
            var unconditional = named.FirstOrDefault(r => r.Args is not { Length: > 0 });
            decisions.Add(new Decision(name, table[name], unconditional is null ? named : [unconditional]));
        }
        return [.. decisions.OrderBy(d => d.Number)];
    }
}
