using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Core;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// A guest on a caller's network namespace (docs/network.md, "VMs on a caller's network namespace"), without a guest:
/// what is read from the namespace, the tap's life (made in the host's namespace, moved, removed), the redirects, the
/// refusals, and the reaping of a tap whose owner died before moving it. The namespace and its veth pair are this
/// test's own (`ip`, 10.254.77.0/24 between two namespaces the test makes; no traffic leaves them).
/// PodmanVmTests.PodmansBridgeNetworkReachesTheGuestAtThePodAddress boots a guest through podman.
/// </summary>
public sealed class PodNetworkTests : IDisposable
{
    private readonly string _ns = "sbxpt" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _peer;

    public PodNetworkTests()
    {
        _peer = _ns + "p";
        Ip("netns", "add", _ns);
        Ip("netns", "add", _peer);
        Ip("-n", _ns, "link", "add", "eth0", "mtu", "1400", "type", "veth", "peer", "name", "gw0", "netns", _peer);
        Ip("-n", _ns, "addr", "add", "10.254.77.5/24", "dev", "eth0");
        Ip("-n", _ns, "link", "set", "eth0", "up");
        Ip("-n", _ns, "route", "add", "default", "via", "10.254.77.1");
    }

    private string Path => $"/run/netns/{_ns}";

    public void Dispose()
    {
        Ip("netns", "del", _ns);
        Ip("netns", "del", _peer);
    }

    [Fact]
    public void The_guest_takes_the_veths_identity_and_the_tap_goes_with_the_sandbox()
    {
        var id = Guid.NewGuid().ToString("N");
        string mac = Ip("-n", _ns, "-o", "link", "show", "eth0").Split("link/ether ")[1].Split(' ')[0];
        using (var pod = PodNetwork.Prepare(Path, id, DomainOwner.Current(new SandboxPaths("/nonexistent")), NullLogger.Instance))
        {
            Assert.Equal(mac, pod.Interface.Mac);
            Assert.Equal("10.254.77.5", pod.Interface.Address);
            Assert.Equal(24, pod.Interface.PrefixLength);
            Assert.Equal("10.254.77.1", pod.Interface.Gateway);
            Assert.Equal(1400, pod.Interface.Mtu);
            Assert.Contains("managed='no'", pod.Nic.ToXml());
            // Made in the host's namespace, labelled with its owner, until the domain holds it.
            var host = Ip("-d", "link", "show", pod.Tap);
            Assert.Contains("tun type tap", host);
            Assert.Contains("alias sandbox-owner " + Environment.ProcessId, host);

            pod.Wire();
            Assert.DoesNotContain(pod.Tap + ":", Ip("-o", "link", "show"));
            Assert.Contains(pod.Tap, Ip("-n", _ns, "-o", "link", "show", pod.Tap));
            Assert.Contains("ingress", Tc("-n", _ns, "qdisc", "show", "dev", "eth0"));
            Assert.Contains("mirred (Egress Redirect to device " + pod.Tap + ")", Tc("-n", _ns, "filter", "show", "dev", "eth0", "ingress"));
            Assert.Contains("mirred (Egress Redirect to device eth0)", Tc("-n", _ns, "filter", "show", "dev", pod.Tap, "ingress"));

            // One VM per namespace: a second one is refused with one line.
            var second = Assert.Throws<SandboxException>(() => PodNetwork.Prepare(Path, Guid.NewGuid().ToString("N"),
                DomainOwner.Current(new SandboxPaths("/nonexistent")), NullLogger.Instance));
            Assert.Contains("already taken over by another micro-VM", second.Message);
        }
        // The namespace's veth is as before: no tap, no qdisc.
        Assert.DoesNotContain("sbxp-", Ip("-n", _ns, "-o", "link", "show"));
        Assert.DoesNotContain("ingress", Tc("-n", _ns, "qdisc", "show", "dev", "eth0"));
    }

    [Fact]
    public void A_tap_left_in_the_host_namespace_by_a_dead_owner_is_reaped()
    {
        // An owner that died between making the tap and moving it: a pid that is not running (start time 1).
        var dead = new DomainOwner(int.MaxValue - 7, 1, File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim());
        // Never disposed, as a SIGKILLed owner never gets to: the persistent tap stays in the host's namespace.
        var tap = PodNetwork.Prepare(Path, Guid.NewGuid().ToString("N"), dead, NullLogger.Instance).Tap;
        Assert.Contains(tap, Ip("-o", "link", "show", tap));
        // A live owner's tap is left alone.
        using var live = PodNetwork.Prepare(Path, Guid.NewGuid().ToString("N"), DomainOwner.Current(new SandboxPaths("/nonexistent")), NullLogger.Instance);
        Assert.True(PodNetwork.ReapStaleTaps(NullLogger.Instance) >= 1);
        Assert.DoesNotContain(tap + ":", Ip("-o", "link", "show"));
        Assert.Contains(live.Tap, Ip("-o", "link", "show", live.Tap));
    }

    [Fact]
    public void A_killed_owners_tap_in_the_namespace_gives_way_to_the_next_guest()
    {
        var dead = new DomainOwner(int.MaxValue - 7, 1, File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim());
        var killed = PodNetwork.Prepare(Path, Guid.NewGuid().ToString("N"), dead, NullLogger.Instance);
        killed.Wire(); // and never disposed: its owner was SIGKILLed, the tap and the redirect stay in the namespace
        Assert.Contains(killed.Tap, Ip("-n", _ns, "-o", "link", "show"));
        using var next = PodNetwork.Prepare(Path, Guid.NewGuid().ToString("N"), DomainOwner.Current(new SandboxPaths("/nonexistent")), NullLogger.Instance);
        Assert.DoesNotContain(killed.Tap, Ip("-n", _ns, "-o", "link", "show"));
        Assert.DoesNotContain("ingress", Tc("-n", _ns, "qdisc", "show", "dev", "eth0"));
        next.Wire();
        Assert.Contains("mirred (Egress Redirect to device " + next.Tap + ")", Tc("-n", _ns, "filter", "show", "dev", "eth0", "ingress"));
    }

    [Fact]
    public void A_namespace_without_an_addressed_interface_is_one_line()
    {
        Ip("-n", _ns, "addr", "flush", "dev", "eth0");
        var e = Assert.Throws<SandboxException>(() => PodNetwork.Prepare(Path, Guid.NewGuid().ToString("N"),
            DomainOwner.Current(new SandboxPaths("/nonexistent")), NullLogger.Instance));
        Assert.Contains("has no interface with an IPv4 address", e.Message);
        Assert.DoesNotContain("sbxp-", Ip("-o", "link", "show"));
    }

    private static string Ip(params string[] args) => Tool("ip", args);

    private static string Tc(params string[] args) => Tool("tc", args);

    private static string Tool(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 && !(args.Length > 0 && args[0] == "netns" && args[1] == "del"))
            throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error}");
        return output.Result;
    }
}
