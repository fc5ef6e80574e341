using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Sandbox.Network.Tests;

/// <summary>
/// The published <c>sandbox</c> binary (<c>SANDBOX_CLI</c>, else out/bin/sandbox) against a temp root, with one
/// user network made for the test class, and the checks that nothing is left: attachment directories, bridge
/// ports, IPAM leases, iptables rules for the subnet, taps, pinned namespaces.
/// </summary>
public sealed class CliFixture : IAsyncLifetime
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "sandbox-net-test-" + Guid.NewGuid().ToString("N")[..8]);
    public string Network { get; } = "t" + Guid.NewGuid().ToString("N")[..8];
    public string Bridge { get; private set; } = "";
    public string Subnet { get; private set; } = "";

    public static string RepoRoot
    {
        get
        {
            var dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "Sandbox.sln"))) dir = Path.GetDirectoryName(dir);
            return dir ?? throw new InvalidOperationException("repository root not found");
        }
    }

    public static string CliPath =>
        Environment.GetEnvironmentVariable("SANDBOX_CLI") is { Length: > 0 } p ? p : Path.Combine(RepoRoot, "out", "bin", "sandbox");

    public async Task InitializeAsync()
    {
        if (!File.Exists(CliPath)) throw new InvalidOperationException($"the sandbox CLI is not built ({CliPath}): run scripts/build.sh or set SANDBOX_CLI");
        Directory.CreateDirectory(Root);
        var created = await RunAsync(["network", "create", Network]);
        Assert.True(created.Code == 0, created.Stderr);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "networks", Network + ".json"))).RootElement;
        Bridge = config.GetProperty("bridge").GetString()!;
        Subnet = config.GetProperty("subnet").GetString()!;
    }

    public ProcessStartInfo StartInfo(IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(CliPath)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SANDBOX_ROOT"] = Root;
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return psi;
    }

    public async Task<(int Code, string Stdout, string Stderr)> RunAsync(IEnumerable<string> args, IDictionary<string, string>? env = null,
        TimeSpan? timeout = null)
    {
        using var p = Process.Start(StartInfo(args, env))!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try { await p.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromMinutes(2)); }
        catch (TimeoutException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>A long-running sandbox; the returned process is the CLI that owns it.</summary>
    public Process Start(IEnumerable<string> args) => Process.Start(StartInfo(args))!;

    /// <summary>The member table's address for a sandbox name (waits until it joined).</summary>
    public async Task<string> AddressOfAsync(string name, TimeSpan timeout)
    {
        var path = Path.Combine(Root, "networks", Network + ".hosts");
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(path))
            {
                foreach (var line in File.ReadAllLines(path))
                {
                    var f = line.Split('\t');
                    if (f.Length >= 3 && f[2].Split(' ').Contains(name)) return f[1];
                }
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{name} did not join network {Network}");
    }

    /// <summary>Everything an attachment makes, as a list of what is still there (empty = clean).</summary>
    public List<string> Leftovers()
    {
        var left = new List<string>();
        var netns = Path.Combine(Root, "netns");
        if (Directory.Exists(netns)) left.AddRange(Directory.EnumerateDirectories(netns).Select(d => "attachment " + d));
        var brif = $"/sys/class/net/{Bridge}/brif";
        if (Directory.Exists(brif)) left.AddRange(Directory.EnumerateFileSystemEntries(brif).Select(p => "bridge port " + Path.GetFileName(p)));
        var ipam = Path.Combine(Root, "networks", "ipam", Network);
        if (Directory.Exists(ipam))
            left.AddRange(Directory.EnumerateFiles(ipam).Select(Path.GetFileName)
                .Where(f => f is not null && f != "lock" && !f.StartsWith("last_reserved_ip", StringComparison.Ordinal))
                .Select(f => "IPAM lease " + f));
        var prefix = Subnet[..(Subnet.LastIndexOf('.') + 1)];
        foreach (var table in new[] { "nat", "filter" })
            left.AddRange(Tool("iptables-save", "-t", table).Split('\n')
                .Where(l => l.Contains(prefix, StringComparison.Ordinal) || l.Contains($"\"{Network}\"", StringComparison.Ordinal))
                .Select(l => $"iptables {table}: {l}"));
        // A VM's tap (sbxt-<id>) is a port of the bridge while it exists: the brif check above covers taps of this
        // network (other test classes run VMs on their own networks at the same time).
        left.AddRange(File.ReadAllLines("/proc/self/mountinfo").Where(l => l.Contains(Root, StringComparison.Ordinal)).Select(l => "mount " + l));
        return left;
    }

    public static string Tool(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error.Trim()}");
        return output;
    }

    public async Task DisposeAsync()
    {
        await RunAsync(["prune"]);
        var left = Leftovers();
        var rm = await RunAsync(["network", "rm", Network]);
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
        Assert.True(left.Count == 0, "left behind: " + string.Join("; ", left));
        Assert.True(rm.Code == 0, rm.Stderr);
    }
}

/// <summary>An HTTP server in a network namespace the test makes ("outside"), reachable from the host only.</summary>
public sealed class OutsideNetwork : IDisposable
{
    public const string HostAddress = "198.51.100.1", ServerAddress = "198.51.100.2";
    public const int Port = 8088;
    private readonly Process _server;
    private readonly string _dir;

    public string Name { get; } = "sbxout-" + Guid.NewGuid().ToString("N")[..6];
    public string Veth => "vo" + Name[7..];
    public string Content { get; } = "outside-" + Guid.NewGuid().ToString("N")[..8];
    public string Url => $"http://{ServerAddress}:{Port}/index.html";

    public OutsideNetwork()
    {
        // Test scaffolding only (the product never runs ip): a namespace with a route back to the host's end of
        // the veth and nowhere else, so a sandbox reaches it only through the bridge's masquerade.
        CliFixture.Tool("ip", "netns", "add", Name);
        CliFixture.Tool("ip", "link", "add", Veth, "type", "veth", "peer", "name", "eth0", "netns", Name);
        CliFixture.Tool("ip", "addr", "add", HostAddress + "/30", "dev", Veth);
        CliFixture.Tool("ip", "link", "set", Veth, "up");
        CliFixture.Tool("ip", "-n", Name, "addr", "add", ServerAddress + "/30", "dev", "eth0");
        CliFixture.Tool("ip", "-n", Name, "link", "set", "eth0", "up");
        CliFixture.Tool("ip", "-n", Name, "link", "set", "lo", "up");
        _dir = Path.Combine(Path.GetTempPath(), Name);
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "index.html"), Content + "\n");
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "netns", "exec", Name, "busybox", "httpd", "-f", "-p", $"{ServerAddress}:{Port}", "-h", _dir })
            psi.ArgumentList.Add(a);
        _server = Process.Start(psi)!;
        Thread.Sleep(200);
    }

    public void Dispose()
    {
        try { _server.Kill(); _server.WaitForExit(); } catch (InvalidOperationException) { }
        try { CliFixture.Tool("ip", "link", "del", Veth); } catch (InvalidOperationException) { }
        try { CliFixture.Tool("ip", "netns", "del", Name); } catch (InvalidOperationException) { }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
