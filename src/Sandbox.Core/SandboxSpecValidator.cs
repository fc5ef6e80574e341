namespace Sandbox.Core;

/// <summary>Checks a <see cref="SandboxSpec"/> before any backend acts on it.</summary>
public static class SandboxSpecValidator
{
    public static void Validate(SandboxSpec spec)
    {
        if (string.IsNullOrWhiteSpace(spec.Image))
            Fail("no image given");
        if (spec.Limits.MemoryBytes is long m && m < 4 * 1024 * 1024)
            Fail($"memory limit {m} bytes is below the 4 MiB minimum");
        if (spec.Limits.Cpus is double c && (c <= 0 || double.IsNaN(c) || double.IsInfinity(c)))
            Fail($"cpus must be a positive number, not {c}");
        if (spec.Limits.Pids is long p && p < 1)
            Fail($"pids limit must be at least 1, not {p}");
        foreach (var u in spec.Ulimits) u.Validate();
        if (spec.Ulimits.GroupBy(u => u.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            Fail($"--ulimit {twice.Key} given more than once");
        if (spec.Hostname is string h && (h.Length is 0 or > 64 || h.Any(ch => !(char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.'))))
            Fail($"invalid hostname '{h}'");
        if (spec.WorkingDir is string w && !w.StartsWith('/'))
            Fail($"working directory '{w}' is not absolute");
        foreach (var v in spec.Volumes)
        {
            if (!v.HostPath.StartsWith('/') || !v.GuestPath.StartsWith('/'))
                Fail($"volume '{v.HostPath}:{v.GuestPath}' needs absolute paths");
            if (v.GuestPath.Split('/').Contains(".."))
                Fail($"volume guest path '{v.GuestPath}' may not contain '..'");
        }
        if (spec.Isolation == Isolation.Vm && spec.Network == NetworkMode.Host)
            Fail("--network host is not available with --vm");
        if (spec.Network == NetworkMode.Bridge && string.IsNullOrEmpty(spec.NetworkName))
            Fail("a bridge network needs a name");
        if (spec.Network != NetworkMode.Bridge)
        {
            if (spec.Ports.Count > 0 || spec.PublishAll)
                Fail($"-p/-P need a bridge network (--network {(spec.Network == NetworkMode.Host ? "host shares the host's ports already" : "none has no network")})");
            if (spec.IpAddress is not null)
                Fail("--ip needs a bridge network");
        }
        if (spec.IpAddress is string ip && !System.Net.IPAddress.TryParse(ip, out _))
            Fail($"invalid --ip '{ip}'");
        foreach (var d in spec.Dns)
            if (!System.Net.IPAddress.TryParse(d, out _)) Fail($"invalid --dns '{d}': expected an IP address");
    }

    private static void Fail(string message) => throw new SandboxException(SandboxFailure.InvalidSpec, message);
}
