using Sandbox.Core;
using Xunit;

namespace Sandbox.Network.Tests;

/// <summary>The pure parts: -p and --add-host syntax, subnets, resolv.conf, the CNI configuration list.</summary>
public sealed class ParsingTests
{
    [Theory]
    [InlineData("8080:80", null, 8080, 80, "tcp")]
    [InlineData("127.0.0.1:8080:80/udp", "127.0.0.1", 8080, 80, "udp")]
    [InlineData("127.0.0.1::80", "127.0.0.1", 0, 80, "tcp")]
    [InlineData("80", null, 0, 80, "tcp")]
    [InlineData("5353:53/UDP", null, 5353, 53, "udp")]
    public void PortMappingsParseDockersForms(string text, string? ip, int hostPort, int port, string protocol) =>
        Assert.Equal(new PortMapping(ip, hostPort, port, protocol), PortMapping.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("80:")]
    [InlineData("x:80")]
    [InlineData("70000:80")]
    [InlineData("8080:80/sctp")]
    [InlineData("1.2.3:8080:80")]
    [InlineData("8080:0")]
    public void MalformedPortMappingsAreRejected(string text) =>
        Assert.Throws<ArgumentException>(() => PortMapping.Parse(text));

    [Fact]
    public void PublishAllAddsExposedPortsNotAlreadyPublished()
    {
        var ports = PortMapping.WithExposed([PortMapping.Parse("8080:80")], ["80/tcp", "53/udp", "1000-2000/tcp"]);
        Assert.Equal([new PortMapping(null, 8080, 80, "tcp"), new PortMapping(null, 0, 53, "udp")], ports);
    }

    [Fact]
    public void AddHostParses()
    {
        Assert.Equal(new HostEntry("db", "10.0.0.5"), HostEntry.Parse("db:10.0.0.5"));
        Assert.Equal(new HostEntry("v6", "fd00::1"), HostEntry.Parse("v6:fd00::1"));
        Assert.Throws<ArgumentException>(() => HostEntry.Parse("db"));
        Assert.Throws<ArgumentException>(() => HostEntry.Parse("db:not-an-ip"));
    }

    [Fact]
    public void SubnetsOverlapAndReject()
    {
        Assert.True(Subnet.Parse("10.0.0.0/8").Overlaps(Subnet.Parse("10.55.3.0/24")));
        Assert.False(Subnet.Parse("10.55.0.0/24").Overlaps(Subnet.Parse("10.55.1.0/24")));
        Assert.Equal(NetworkFailure.InvalidInput, Assert.Throws<NetworkException>(() => Subnet.Parse("10.55.0.1/24")).Failure);
        Assert.Equal(NetworkFailure.InvalidInput, Assert.Throws<NetworkException>(() => Subnet.Parse("banana")).Failure);
    }

    [Fact]
    public void ResolvConfDropsLoopbackResolversAndFallsBackToTheGateway()
    {
        var host = "# generated\nnameserver 127.0.0.53\nnameserver ::1\nsearch example.org\noptions edns0\n";
        Assert.Equal("nameserver 10.55.0.1\nsearch example.org\noptions edns0\n", ResolvConf.Build(host, [], "10.55.0.1"));
        Assert.Equal("nameserver 192.0.2.53\nsearch example.org\noptions edns0\n",
            ResolvConf.Build(host + "nameserver 192.0.2.53\n", [], "10.55.0.1"));
        Assert.Equal("nameserver 9.9.9.9\nsearch example.org\noptions edns0\n", ResolvConf.Build(host, ["9.9.9.9"], "10.55.0.1"));
        Assert.Equal("search example.org\noptions edns0\n", ResolvConf.Build(host, [], gateway: null));
    }

    [Fact]
    public void TheChainIsBridgeHostLocalPortmapFirewall()
    {
        var net = new NetworkConfig { Name = "n", Bridge = "sbx9", Subnet = "10.55.9.0/24", Gateway = "10.55.9.1" };
        var list = NetworkChain.ConfList(net, "/tmp/ipam");
        Assert.Equal(["bridge", "portmap", "firewall"], list["plugins"]!.AsArray().Select(p => (string)p!["type"]!));
        Assert.Equal("host-local", (string)list["plugins"]![0]!["ipam"]!["type"]!);
        var closed = NetworkChain.ConfList(net with { Internal = true }, "/tmp/ipam");
        Assert.Equal(["bridge", "firewall"], closed["plugins"]!.AsArray().Select(p => (string)p!["type"]!));
        Assert.False((bool)closed["plugins"]![0]!["isGateway"]!);
        Assert.False((bool)closed["plugins"]![0]!["ipMasq"]!);
    }
}
