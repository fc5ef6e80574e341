using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Sandbox.Network.Tests;

/// <summary>Containers on a bridge network through the published CLI: ports, NAT, internal networks, names, cleanup.</summary>
// One collection with VmNetworkTests: both make the "outside" namespace at the same fixed addresses.
[Collection("outside network")]
public sealed class ContainerNetworkTests(CliFixture fx) : IClassFixture<CliFixture>
{
    internal static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    internal static async Task<string> FetchAsync(string url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try { return await http.GetStringAsync(url); }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { last = e; }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{url} did not answer: {last?.Message}");
    }

    internal static async Task StopAsync(Process cli)
    {
        if (!cli.HasExited) Process.Start("kill", ["-TERM", cli.Id.ToString()])!.WaitForExit();
        await cli.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task PublishedHttpdIsFetchedFromTheHost()
    {
        int port = FreePort();
        using var cli = fx.Start(["run", "--rm", "--network", fx.Network, "-p", $"127.0.0.1:{port}:80", "busybox", "sh", "-c",
            "mkdir /www && echo hello-from-container > /www/index.html && exec httpd -f -p 80 -h /www"]);
        try
        {
            Assert.Equal("hello-from-container\n", await FetchAsync($"http://127.0.0.1:{port}/index.html", TimeSpan.FromSeconds(30)));
        }
        finally { await StopAsync(cli); }
        Assert.Empty(fx.Leftovers());
    }

    [Fact]
    public async Task TheOutsideIsReachedThroughTheNatAndNotFromAnInternalNetwork()
    {
        using var outside = new OutsideNetwork();
        var r = await fx.RunAsync(["run", "--rm", "--network", fx.Network, "busybox", "timeout", "20", "wget", "-q", "-O-", outside.Url]);
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal(outside.Content + "\n", r.Stdout);

        var closed = "i" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(0, (await fx.RunAsync(["network", "create", closed, "--internal"])).Code);
        try
        {
            var blocked = await fx.RunAsync(["run", "--rm", "--network", closed, "busybox", "sh", "-c",
                $"ip route; timeout 5 wget -q -O- {outside.Url} && echo reached || echo blocked"]);
            Assert.True(blocked.Code == 0, blocked.Stderr);
            Assert.EndsWith("blocked\n", blocked.Stdout);
            Assert.DoesNotContain("default", blocked.Stdout);
            var publish = await fx.RunAsync(["run", "--rm", "--network", closed, "-p", "8080:80", "busybox", "true"]);
            Assert.Equal(125, publish.Code);
            Assert.Contains("internal", publish.Stderr);
        }
        finally { Assert.Equal(0, (await fx.RunAsync(["network", "rm", closed])).Code); }
        Assert.Empty(fx.Leftovers());
    }

    [Fact]
    public async Task SandboxesResolveEachOtherByNameAndGetTheirEtcFiles()
    {
        var server = "web-" + Guid.NewGuid().ToString("N")[..6];
        using var cli = fx.Start(["run", "--rm", "--name", server, "--network", fx.Network, "busybox", "sh", "-c",
            "mkdir /www && echo by-name > /www/index.html && exec httpd -f -p 80 -h /www"]);
        try
        {
            var ip = await fx.AddressOfAsync(server, TimeSpan.FromSeconds(30));
            var r = await fx.RunAsync(["run", "--rm", "--network", fx.Network, "--add-host", "db.example:192.0.2.7", "--dns", "192.0.2.53",
                "-h", "client", "busybox", "sh", "-c",
                $"for i in 1 2 3 4 5 6 7 8 9 10; do timeout 5 wget -q -O- http://{server}/index.html && break; sleep 0.5; done; timeout 5 wget -q -O- http://{ip}/index.html; cat /etc/hosts /etc/resolv.conf"]);
            Assert.True(r.Code == 0, r.Stderr);
            Assert.StartsWith("by-name\nby-name\n", r.Stdout);
            Assert.Contains("192.0.2.7\tdb.example", r.Stdout);
            Assert.Contains($"{ip}\t{server}", r.Stdout);
            Assert.Matches(@"\n10\.55\.\d+\.\d+\tclient ", r.Stdout);
            Assert.Contains("nameserver 192.0.2.53", r.Stdout);
        }
        finally { await StopAsync(cli); }
        Assert.Empty(fx.Leftovers());
    }

    [Fact]
    public async Task APortInUseIsOneLineAndLeavesNothing()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var r = await fx.RunAsync(["run", "--rm", "--network", fx.Network, "-p", $"127.0.0.1:{port}:80", "busybox", "true"]);
        Assert.Equal(125, r.Code);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Contains("already in use", r.Stderr);
        Assert.Empty(fx.Leftovers());
        Assert.Empty(Directory.Exists(Path.Combine(fx.Root, "run")) ? Directory.GetDirectories(Path.Combine(fx.Root, "run")) : []);
    }

    [Fact]
    public async Task TwentySandboxesUpAndDownIncludingSigkilledOnesLeaveNothing()
    {
        // 15 that end by themselves (4 at a time), with published ports.
        for (int batch = 0; batch < 15; batch += 5)
        {
            var runs = Enumerable.Range(0, 5).Select(_ => fx.RunAsync(
                ["run", "--rm", "--network", fx.Network, "-p", "127.0.0.1::80", "-p", "127.0.0.1::53/udp", "busybox", "true"])).ToArray();
            foreach (var r in await Task.WhenAll(runs)) Assert.True(r.Code == 0, r.Stderr);
        }
        // 5 whose CLI dies by SIGKILL while the sandbox runs: DEL comes from the next command (here prune).
        var killed = new List<Process>();
        for (int i = 0; i < 5; i++)
        {
            var name = $"k{i}-{Guid.NewGuid().ToString("N")[..6]}";
            var p = fx.Start(["run", "--rm", "--name", name, "--network", fx.Network, "-p", "127.0.0.1::80", "busybox", "sleep", "300"]);
            killed.Add(p);
            await fx.AddressOfAsync(name, TimeSpan.FromSeconds(30));
        }
        foreach (var p in killed)
        {
            p.Kill();
            await p.WaitForExitAsync();
            p.Dispose();
        }
        Assert.NotEmpty(fx.Leftovers());
        var prune = await fx.RunAsync(["prune"]);
        Assert.True(prune.Code == 0, prune.Stderr);
        // init notices its host died and ends the sandbox; the veth goes with the pinned namespace after DEL.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (fx.Leftovers().Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.Empty(fx.Leftovers());
    }

    [Fact]
    public async Task BadInputIsOneLineAndLeavesNothing()
    {
        async Task Bad(string expected, string[] args, Dictionary<string, string>? env = null)
        {
            var r = await fx.RunAsync(args, env);
            Assert.True(r.Code is 125 or 2, $"{string.Join(' ', args)}: exit {r.Code}");
            Assert.NotEqual(0, r.Code);
            var lines = r.Stderr.Trim().Split('\n');
            Assert.True(lines.Length == 1, $"{string.Join(' ', args)}: {r.Stderr}");
            Assert.Contains(expected, lines[0]);
        }
        await Bad("network 'no-such-net' not found", ["run", "--rm", "--network", "no-such-net", "busybox", "true"]);
        await Bad("overlaps network", ["network", "create", "o" + Guid.NewGuid().ToString("N")[..6], "--subnet", fx.Subnet]);
        await Bad("invalid port mapping", ["run", "--rm", "--network", fx.Network, "-p", "80:http", "busybox", "true"]);
        await Bad("container-only", ["run", "--rm", "--vm", "--network", "host", "busybox", "true"]);
        var plugins = Path.Combine(fx.Root, "cni-without-portmap");
        Directory.CreateDirectory(plugins);
        foreach (var p in new[] { "bridge", "host-local", "firewall" }) File.CreateSymbolicLink(Path.Combine(plugins, p), "/usr/lib/cni/" + p);
        await Bad("containernetworking-plugins", ["run", "--rm", "--network", fx.Network, "busybox", "true"],
            new() { ["SANDBOX_CNI_PATH"] = plugins });
        Assert.Empty(fx.Leftovers());
    }
}
