namespace Sandbox.Core;

/// <summary>
/// One resource limit of the workload (setrlimit), as docker's <c>--ulimit NAME=SOFT[:HARD]</c>. -1 is unlimited.
/// </summary>
public sealed record Ulimit(string Name, long Soft, long Hard)
{
    public const long Unlimited = -1;

    /// <summary>docker's names and the Linux RLIMIT_* numbers they stand for.</summary>
    public static readonly IReadOnlyDictionary<string, int> Resources = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["cpu"] = 0, ["fsize"] = 1, ["data"] = 2, ["stack"] = 3, ["core"] = 4, ["rss"] = 5, ["nproc"] = 6,
        ["nofile"] = 7, ["memlock"] = 8, ["as"] = 9, ["locks"] = 10, ["sigpending"] = 11, ["msgqueue"] = 12,
        ["nice"] = 13, ["rtprio"] = 14, ["rttime"] = 15,
    };

    /// <summary>
    /// The limits every workload starts with, in both backends (see docs/process-model.md, "Resource limits"). Docker
    /// passes on whatever its daemon inherited, which made a container's <c>ulimit -n</c> depend on the shell that
    /// started the CLI and a VM's on the guest kernel's built-in defaults. One fixed table instead: podman's rootful
    /// nofile and nproc (1048576, 4194304 = PID_MAX_LIMIT), the kernel's own defaults for the rest, and sigpending
    /// (which the kernel derives from RAM) pinned to nproc.
    /// </summary>
    public static readonly IReadOnlyList<Ulimit> Defaults =
    [
        new("cpu", Unlimited, Unlimited),
        new("fsize", Unlimited, Unlimited),
        new("data", Unlimited, Unlimited),
        new("stack", 8 << 20, Unlimited),
        new("core", 0, Unlimited),
        new("rss", Unlimited, Unlimited),
        new("nproc", 4194304, 4194304),
        new("nofile", 1048576, 1048576),
        new("memlock", 8 << 20, 8 << 20),
        new("as", Unlimited, Unlimited),
        new("locks", Unlimited, Unlimited),
        new("sigpending", 4194304, 4194304),
        new("msgqueue", 819200, 819200),
        new("nice", 0, 0),
        new("rtprio", 0, 0),
        new("rttime", Unlimited, Unlimited),
    ];

    public int Resource => Resources.TryGetValue(Name, out int r) ? r
        : throw new SandboxException(SandboxFailure.InvalidSpec, $"unknown ulimit '{Name}' (known: {string.Join(", ", Resources.Keys)})");

    /// <summary>
    /// The defaults with the run's <c>--ulimit</c>s replacing entries of the same name. Both backends get this same
    /// table. A runtime without CAP_SYS_RESOURCE (some hosts drop it even for root) cannot raise a hard limit above its
    /// own, so there the defaults are capped at the runtime's own hard limits, for the VM as for the container; an
    /// explicit <c>--ulimit</c> is never capped (a container then refuses it, one line).
    /// </summary>
    public static IReadOnlyList<Ulimit> Effective(IReadOnlyList<Ulimit> overrides) => Effective(overrides, OwnHardLimits.Value);

    /// <summary>As <see cref="Effective(IReadOnlyList{Ulimit})"/>, with the caps given (null: none).</summary>
    public static IReadOnlyList<Ulimit> Effective(IReadOnlyList<Ulimit> overrides, IReadOnlyDictionary<int, long>? capAt)
    {
        var byName = Defaults.ToDictionary(u => u.Name, u => Cap(u, capAt), StringComparer.Ordinal);
        foreach (var o in overrides) byName[o.Name] = o;
        return Defaults.Select(d => byName[d.Name]).ToArray();
    }

    private static Ulimit Cap(Ulimit u, IReadOnlyDictionary<int, long>? capAt)
    {
        if (capAt is null || !capAt.TryGetValue(u.Resource, out long max) || max == Unlimited) return u;
        static long Min(long v, long max) => v == Unlimited || v > max ? max : v;
        return u with { Soft = Min(u.Soft, max), Hard = Min(u.Hard, max) };
    }

    /// <summary>This process's hard limits by RLIMIT_* number when it lacks CAP_SYS_RESOURCE; null when it has it.</summary>
    public static readonly Lazy<IReadOnlyDictionary<int, long>?> OwnHardLimits = new(ReadOwnHardLimits);

    private static IReadOnlyDictionary<int, long>? ReadOwnHardLimits()
    {
        try
        {
            const int CapSysResource = 24;
            var capEff = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
            if (capEff is null || (Convert.ToUInt64(capEff[7..].Trim(), 16) & (1UL << CapSysResource)) != 0) return null;
            // /proc/self/limits lists RLIMIT_0 … RLIMIT_15 in order after a header; the hard limit is the third column
            // from the right ("Max open files  1024  4096  files"; units may be absent).
            var result = new Dictionary<int, long>();
            var lines = File.ReadAllLines("/proc/self/limits").Skip(1).ToArray();
            for (int r = 0; r < lines.Length && r < 16; r++)
            {
                var cols = System.Text.RegularExpressions.Regex.Split(lines[r].Trim(), @"\s{2,}");
                if (cols.Length < 3) continue;
                var hard = cols[2];
                result[r] = hard == "unlimited" ? Unlimited : long.Parse(hard, System.Globalization.CultureInfo.InvariantCulture);
            }
            return result;
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Parses docker's <c>NAME=SOFT[:HARD]</c> (HARD defaults to SOFT; -1 or "unlimited" for none).</summary>
    public static Ulimit Parse(string text)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0) throw Invalid(text, "expected NAME=SOFT[:HARD]");
        var name = text[..eq];
        if (!Resources.ContainsKey(name)) throw Invalid(text, $"unknown limit '{name}' (known: {string.Join(", ", Resources.Keys)})");
        var values = text[(eq + 1)..].Split(':');
        if (values.Length > 2) throw Invalid(text, "expected NAME=SOFT[:HARD]");
        long soft = Value(text, values[0]);
        long hard = values.Length == 2 ? Value(text, values[1]) : soft;
        var u = new Ulimit(name, soft, hard);
        u.Validate();
        return u;
    }

    public void Validate()
    {
        _ = Resource;
        if (Soft < Unlimited || Hard < Unlimited) throw Invalid($"{Name}={Soft}:{Hard}", "values must be -1 (unlimited) or at least 0");
        if (Hard != Unlimited && (Soft == Unlimited || Soft > Hard))
            throw Invalid($"{Name}={Soft}:{Hard}", "the soft limit exceeds the hard limit");
        if (Name == "nofile" && (Hard == Unlimited || Hard > 1048576))
            throw Invalid($"{Name}={Soft}:{Hard}", "nofile cannot exceed 1048576 (the kernel's nr_open)");
    }

    private static long Value(string text, string v)
    {
        if (v is "-1" or "unlimited") return Unlimited;
        return long.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n)
            ? n : throw Invalid(text, $"'{v}' is not a number");
    }

    private static SandboxException Invalid(string text, string why) =>
        new(SandboxFailure.InvalidSpec, $"invalid --ulimit '{text}': {why}");

    public override string ToString() => $"{Name}={Format(Soft)}:{Format(Hard)}";

    private static string Format(long v) => v == Unlimited ? "unlimited" : v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
