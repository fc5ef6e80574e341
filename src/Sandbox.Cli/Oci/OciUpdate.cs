using System.Globalization;
using System.Text.Json;
using Sandbox.Container.Cgroups;
using Sandbox.Core;

namespace Sandbox.Cli.Oci;

/// <summary>
/// <c>update</c>: runc's <c>--resources FILE|-</c> (a runtime-spec <c>linux.resources</c> object) or its flags, read
/// into a <see cref="CgroupUpdate"/>. As with runc, a zero means "unchanged"; a field this runtime cannot change is
/// an error naming it (device rules only a warning, as they are not a cgroup here: docs/oci-runtime.md).
/// </summary>
internal static class OciUpdate
{
    public static readonly string[] ValueFlags =
    [
        "--resources", "--r", "--memory", "--memory-reservation", "--memory-swap", "--kernel-memory", "--kernel-memory-tcp",
        "--cpu-share", "--cpu-quota", "--cpu-period", "--cpu-rt-period", "--cpu-rt-runtime", "--cpuset-cpus", "--cpuset-mems",
        "--pids-limit", "--blkio-weight", "--l3-cache-schema", "--mem-bw-schema",
    ];

    public static CgroupUpdate FromResources(string path, Action<string> warn)
    {
        byte[] bytes;
        try { bytes = path == "-" ? ReadStdin() : File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw OciConfig.Invalid($"--resources {path} does not exist"); }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes); }
        catch (JsonException e) { throw OciConfig.Invalid($"--resources: not valid JSON: {e.Message}"); }
        using (doc)
        {
            var r = new OciConfig.Reader(doc.RootElement, "resources");
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw OciConfig.Invalid("--resources: the resources must be a JSON object");
            var update = new CgroupUpdate();
            if (r.Object("memory") is { } mem)
            {
                update = update with { MemoryLimit = NonZero(mem.Long("limit")), MemoryReservation = NonZero(mem.Long("reservation")), MemorySwap = NonZero(mem.Long("swap")) };
                foreach (var field in new[] { "kernel", "kernelTCP" })
                    if (mem.Has(field) && NonEmpty(mem.Element.GetProperty(field))) throw OciConfig.Invalid($"resources.memory.{field}: not supported by this runtime");
                if (mem.ULong("swappiness") is ulong swappiness && swappiness != ulong.MaxValue) throw OciConfig.Invalid("resources.memory.swappiness: not supported by this runtime");
                if (mem.Bool("disableOOMKiller") == true) throw OciConfig.Invalid("resources.memory.disableOOMKiller: not supported by this runtime");
                if (mem.Bool("useHierarchy") == true) warn("resources.memory.useHierarchy ignored (always on)");
            }
            if (r.Object("cpu") is { } cpu)
            {
                update = update with
                {
                    CpuShares = NonZero(cpu.ULong("shares")),
                    CpuQuota = NonZero(cpu.Long("quota")),
                    CpuPeriod = NonZero(cpu.ULong("period")),
                    CpusetCpus = cpu.String("cpus") is { Length: > 0 } cpus ? cpus : null,
                    CpusetMems = cpu.String("mems") is { Length: > 0 } mems ? mems : null,
                };
                foreach (var field in new[] { "realtimeRuntime", "realtimePeriod", "idle", "burst" })
                    if (cpu.Has(field) && NonEmpty(cpu.Element.GetProperty(field))) throw OciConfig.Invalid($"resources.cpu.{field}: not supported by this runtime");
            }
            if (r.Object("pids") is { } pids) update = update with { PidsLimit = NonZero(pids.Long("limit")) };
            foreach (var field in new[] { "blockIO", "hugepageLimits", "rdma", "unified" })
                if (r.Has(field) && NonEmpty(doc.RootElement.GetProperty(field))) throw OciConfig.Invalid($"resources.{field}: not supported by this runtime");
            if (r.Object("network") is { } net && NonEmpty(net.Element)) throw OciConfig.Invalid("resources.network: not supported by this runtime");
            if (r.Array("devices").Count > 0) warn("resources.devices: device access is enforced by nodev mounts and the configured device nodes, not a device cgroup");
            return update;
        }
    }

    /// <summary>
    /// An update of a created container: merged into the limits the cgroup (or the guest) is made with at start, so the
    /// workload never runs under the old ones. Those limits are memory (no swap beyond it), the cpu quota as a share
    /// of CPUs (period 100 ms) and pids; a field they cannot carry is one line, not a silent drop.
    /// </summary>
    public static ResourceLimits BeforeStart(ResourceLimits limits, CgroupUpdate update)
    {
        if (update.MemoryReservation is not null) throw NotBeforeStart("memory reservation");
        if (update.CpuShares is not null) throw NotBeforeStart("cpu shares");
        if (update.CpusetCpus is not null || update.CpusetMems is not null) throw NotBeforeStart("cpuset");
        long? memory = update.MemoryLimit is long m && m > 0 ? m : update.MemoryLimit is -1 ? null : limits.MemoryBytes;
        if (update.MemorySwap is long swap && swap != -1 && swap != memory)
            throw NotBeforeStart("memory swap beyond the memory limit");
        double? cpus = limits.Cpus;
        if (update.CpuQuota is long quota)
            cpus = quota < 0 ? null : (double)quota / (update.CpuPeriod ?? 100_000);
        else if (update.CpuPeriod is ulong period && limits.Cpus is not null)
            throw NotBeforeStart($"a cpu period ({period}) without a quota");
        long? pids = update.PidsLimit is long p ? (p < 0 ? null : p) : limits.Pids;
        return new ResourceLimits(memory, cpus, pids);
    }

    private static SandboxException NotBeforeStart(string what) =>
        new(SandboxFailure.InvalidSpec, $"update of a created container: {what} can be changed only once it is started (a created container's limits are memory, cpu quota and pids)");

    public static CgroupUpdate FromFlags(Func<string, string?> value)
    {
        foreach (var flag in new[] { "--kernel-memory", "--kernel-memory-tcp", "--cpu-rt-period", "--cpu-rt-runtime", "--blkio-weight", "--l3-cache-schema", "--mem-bw-schema" })
            if (value(flag) is { Length: > 0 } v && v != "0") throw OciConfig.Invalid($"update {flag}: not supported by this runtime");
        return new CgroupUpdate
        {
            MemoryLimit = NonZero(Bytes(value, "--memory")),
            MemoryReservation = NonZero(Bytes(value, "--memory-reservation")),
            MemorySwap = NonZero(Bytes(value, "--memory-swap")),
            CpuShares = value("--cpu-share") is string sh ? NonZero(ParseU(sh, "--cpu-share")) : null,
            CpuQuota = value("--cpu-quota") is string q ? NonZero(ParseL(q, "--cpu-quota")) : null,
            CpuPeriod = value("--cpu-period") is string p ? NonZero(ParseU(p, "--cpu-period")) : null,
            CpusetCpus = value("--cpuset-cpus") is { Length: > 0 } c ? c : null,
            CpusetMems = value("--cpuset-mems") is { Length: > 0 } m ? m : null,
            PidsLimit = value("--pids-limit") is string pl ? NonZero(ParseL(pl, "--pids-limit")) : null,
        };
    }

    private static bool NonEmpty(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null => false,
        JsonValueKind.Array => e.GetArrayLength() > 0,
        JsonValueKind.Object => e.EnumerateObject().Any(p => NonEmpty(p.Value)),
        JsonValueKind.Number => e.GetDouble() != 0,
        JsonValueKind.String => e.GetString()!.Length > 0,
        _ => true,
    };

    private static long? NonZero(long? v) => v is 0 ? null : v;
    private static ulong? NonZero(ulong? v) => v is 0 ? null : v;

    private static long ParseL(string s, string flag) =>
        long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : throw OciConfig.Invalid($"update {flag}: '{s}' is not an integer");

    private static ulong ParseU(string s, string flag) =>
        ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw OciConfig.Invalid($"update {flag}: '{s}' is not a non-negative integer");

    /// <summary>runc's memory flags: bytes with an optional k/m/g suffix (units of 1024), or -1.</summary>
    private static long? Bytes(Func<string, string?> value, string flag)
    {
        if (value(flag) is not string s || s.Length == 0) return null;
        if (s == "-1") return -1;
        long unit = char.ToLowerInvariant(s[^1]) switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1 };
        var digits = unit == 1 ? s : s[..^1].TrimEnd('b', 'B');
        if (char.ToLowerInvariant(s[^1]) == 'b' && unit == 1) digits = s[..^1];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n * unit
            : throw OciConfig.Invalid($"update {flag}: '{s}' is not a size");
    }

    private static byte[] ReadStdin()
    {
        using var stdin = Console.OpenStandardInput();
        using var buffer = new MemoryStream();
        stdin.CopyTo(buffer);
        return buffer.ToArray();
    }
}
