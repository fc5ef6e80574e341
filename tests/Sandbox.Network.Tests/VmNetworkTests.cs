using System.Diagnostics;
using Xunit;

namespace Sandbox.Network.Tests;

/// <summary>
/// One micro-VM boot (each costs seconds under TCG) covers the VM side: its published httpd fetched from the host,
/// the outside through the NAT, a container reached by name and by IP, a container that joined later reached by
/// name (the live /etc/hosts update), the VM reached from that container by name and IP, and cleanup after the
/// VM's CLI is SIGKILLed (tap, rules, lease, namespace).
/// </summary>
[Collection("outside network")]
public sealed class VmNetworkTests(CliFixture fx) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task AVmJoinsTheSameNetworkAsContainers()
    {
        using var outside = new OutsideNetwork();
        var tag = Guid.NewGuid().ToString("N")[..6];
        string c1 = "c1-" + tag, c2 = "c2-" + tag, vm = "vm-" + tag;
        static string Httpd(string page) => $"mkdir /www && echo {page} > /www/index.html && httpd -p 80 -h /www";

        using var first = fx.Start(["run", "--rm", "--name", c1, "--network", fx.Network, "busybox", "sh", "-c", Httpd("page-c1") + " && sleep 300"]);
        Process? vmCli = null, second = null;
        try
        {
            var c1Ip = await fx.AddressOfAsync(c1, TimeSpan.FromSeconds(30));
            int port = ContainerNetworkTests.FreePort();
            var script = string.Join("; ",
                Httpd("page-vm"),
                $"echo outside:$(timeout 20 wget -q -O- {outside.Url})",
                $"echo c1-name:$(timeout 20 wget -q -O- http://{c1}/index.html)",
                $"echo c1-ip:$(timeout 20 wget -q -O- http://{c1Ip}/index.html)",
                $"i=0; while ! grep -q {c2} /etc/hosts && [ $i -lt 240 ]; do sleep 0.5; i=$((i+1)); done",
                // In the table from c2's attach on; its httpd starts a moment later.
                $"for i in $(seq 40); do out=$(timeout 5 wget -q -O- http://{c2}/index.html) && break; sleep 0.5; done; echo c2-name:$out",
                "echo vm-done; sleep 300");
            vmCli = fx.Start(["run", "--rm", "--vm", "--name", vm, "--network", fx.Network, "-p", $"127.0.0.1:{port}:80",
                "busybox", "sh", "-c", script]);
            var lines = new List<string>();
            var done = new TaskCompletionSource();
            vmCli.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (lines) lines.Add(e.Data);
                if (e.Data == "vm-done") done.TrySetResult();
            };
            vmCli.BeginOutputReadLine();

            Assert.Equal("page-vm\n", await ContainerNetworkTests.FetchAsync($"http://127.0.0.1:{port}/index.html", TimeSpan.FromSeconds(120)));
            var vmIp = await fx.AddressOfAsync(vm, TimeSpan.FromSeconds(5));
            second = fx.Start(["run", "--rm", "--name", c2, "--network", fx.Network, "busybox", "sh", "-c",
                Httpd("page-c2") + $" && timeout 20 wget -q -O- http://{vm}/index.html && timeout 20 wget -q -O- http://{vmIp}/index.html && sleep 300"]);
            var fromContainer = await second.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            var fromContainerByIp = await second.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(("page-vm", "page-vm"), (fromContainer, fromContainerByIp));

            await done.Task.WaitAsync(TimeSpan.FromSeconds(180));
            lock (lines)
            {
                Assert.Contains($"outside:{outside.Content}", lines);
                Assert.Contains("c1-name:page-c1", lines);
                Assert.Contains("c1-ip:page-c1", lines);
                Assert.Contains("c2-name:page-c2", lines);
            }

            // The VM's CLI dies by SIGKILL: libvirt destroys the domain (and its tap); prune runs DEL.
            vmCli.Kill();
            await vmCli.WaitForExitAsync();
        }
        finally
        {
            foreach (var p in new[] { first, second })
                if (p is not null) await ContainerNetworkTests.StopAsync(p);
            if (vmCli is { HasExited: false }) vmCli.Kill();
            vmCli?.Dispose();
            second?.Dispose();
        }
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            await fx.RunAsync(["prune"]);
            if (fx.Leftovers().Count == 0) break;
            await Task.Delay(500);
        }
        Assert.Empty(fx.Leftovers());
    }
}
