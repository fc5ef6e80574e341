using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace Sandbox.Network.Tests;

/// <summary>
/// <c>-P</c> end to end in both backends (one VM boot): an image made by umoci whose config exposes 80/tcp runs
/// busybox httpd with <c>-P</c> and no <c>-p</c>; the host port picked for it (from the attachment's record) serves the
/// page on 127.0.0.1; nothing is left afterwards.
/// </summary>
[Collection("outside network")]
public sealed class PublishAllTests(CliFixture fx) : IClassFixture<CliFixture>, IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("sandbox-publish-all-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private static void Tool(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {err.Result}");
    }

    /// <summary>busybox in an OCI layout whose config exposes 80/tcp (umoci), imported as web-exposed:1.</summary>
    private async Task<string> ImportExposedImageAsync()
    {
        const string umoci = "/usr/bin/umoci";
        if (!File.Exists(umoci)) throw new InvalidOperationException("umoci is not installed (test.sh installs it)");
        var layout = Path.Combine(_work, "layout");
        Tool(umoci, "init", "--layout", layout);
        Tool(umoci, "new", "--image", layout + ":1");
        var bundle = Path.Combine(_work, "b");
        Tool(umoci, "unpack", "--image", layout + ":1", bundle);
        var bin = Path.Combine(bundle, "rootfs", "bin");
        Directory.CreateDirectory(bin);
        File.Copy("/bin/busybox", Path.Combine(bin, "busybox"));
        foreach (var applet in new[] { "sh", "mkdir", "echo", "httpd", "sleep" })
            File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
        Tool(umoci, "repack", "--image", layout + ":1", bundle);
        Tool(umoci, "config", "--image", layout + ":1", "--config.exposedports", "80/tcp", "--config.env", "PATH=/bin");
        var imported = await fx.RunAsync(["image", "import", layout + ":1", "--name", "web-exposed:1"]);
        Assert.True(imported.Code == 0, imported.Stderr);
        return "web-exposed:1";
    }

    /// <summary>The host port published for container port 80 by the one attachment that has it.</summary>
    private async Task<int> PublishedPortAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var netns = Path.Combine(fx.Root, "netns");
            foreach (var record in Directory.Exists(netns) ? Directory.EnumerateFiles(netns, "attachment.json", SearchOption.AllDirectories) : [])
            {
                JsonNode? node;
                try { node = JsonNode.Parse(File.ReadAllText(record)); }
                catch (Exception e) when (e is IOException or System.Text.Json.JsonException) { continue; } // being written
                if (node?["portMappings"]?.GetValue<string>() is not { } pm) continue;
                foreach (var m in JsonNode.Parse(pm)!.AsArray())
                    if (m!["containerPort"]!.GetValue<int>() == 80) return m["hostPort"]!.GetValue<int>();
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("no attachment published container port 80");
    }

    [Fact]
    public async Task PublishAllPublishesTheImagesExposedPortInBothBackends()
    {
        var image = await ImportExposedImageAsync();
        foreach (var vm in new[] { false, true })
        {
            var page = vm ? "page-vm" : "page-container";
            var args = new List<string> { "run", "--rm", "--network", fx.Network, "-P" };
            if (vm) args.Add("--vm");
            args.AddRange([image, "sh", "-c", $"mkdir /www && echo {page} > /www/index.html && exec httpd -f -p 80 -h /www"]);
            using var cli = fx.Start(args);
            try
            {
                var port = await PublishedPortAsync(TimeSpan.FromSeconds(vm ? 120 : 30));
                Assert.NotEqual(80, port);
                Assert.Equal(page + "\n", await ContainerNetworkTests.FetchAsync($"http://127.0.0.1:{port}/index.html", TimeSpan.FromSeconds(vm ? 120 : 30)));
            }
            finally { await ContainerNetworkTests.StopAsync(cli); }
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (fx.Leftovers().Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(200);
            Assert.Empty(fx.Leftovers());
        }
    }
}
