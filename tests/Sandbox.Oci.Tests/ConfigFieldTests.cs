using System.Text.Json;
using System.Text.Json.Nodes;
using Sandbox.Cli.Oci;
using Sandbox.Core;
using static Sandbox.Oci.Tests.OciTestEnv;

namespace Sandbox.Oci.Tests;

/// <summary>
/// config.json fields this runtime cannot honour: an error naming the field, or (where runc also goes on) a warning;
/// and the hooks read as given. Pure parsing (<see cref="OciConfig.Convert"/>) of runc's default config, edited.
/// </summary>
public sealed class ConfigFieldTests(BundleFixture fx) : IClassFixture<BundleFixture>
{
    private OciConfig.Result Convert(Action<JsonObject> edit)
    {
        var dir = MakeBundle(Path.Combine(fx.Dir, "cfg-" + Guid.NewGuid().ToString("N")), fx.Rootfs, ["true"], edit);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json")));
        return OciConfig.Convert(doc.RootElement, dir, "cfg", Isolation.Container, null);
    }

    [Theory]
    [InlineData("hooks-relative", "hooks.prestart[0].path")]
    [InlineData("hooks-timeout", "hooks.poststop[0].timeout")]
    [InlineData("idmapped-mount", "mounts[0]: idmapped mounts")]
    [InlineData("oom-killer", "linux.resources.memory.disableOOMKiller")]
    [InlineData("net-devices", "linux.netDevices")]
    public void Errors(string name, string field)
    {
        var e = Assert.Throws<SandboxException>(() => Convert(c =>
        {
            switch (name)
            {
                case "hooks-relative": c["hooks"] = JsonNode.Parse("""{"prestart":[{"path":"bin/hook"}]}"""); break;
                case "hooks-timeout": c["hooks"] = JsonNode.Parse("""{"poststop":[{"path":"/bin/true","timeout":0}]}"""); break;
                case "idmapped-mount": c["mounts"]![0]!["uidMappings"] = JsonNode.Parse("""[{"containerID":0,"hostID":1000,"size":1}]"""); break;
                case "oom-killer": c["linux"]!["resources"] = JsonNode.Parse("""{"memory":{"disableOOMKiller":true}}"""); break;
                case "net-devices": c["linux"]!["netDevices"] = JsonNode.Parse("""{"eth1":{}}"""); break;
            }
        }));
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void Warnings()
    {
        var r = Convert(c =>
        {
            c["linux"]!["resources"] = JsonNode.Parse("""{"memory":{"swappiness":10,"kernel":1048576},"cpu":{"realtimeRuntime":1000,"mems":"0"}}""");
            c["process"]!["ioPriority"] = JsonNode.Parse("""{"class":"IOPRIO_CLASS_IDLE"}""");
        });
        foreach (var field in new[] { "memory.swappiness", "memory.kernel", "cpu.realtimeRuntime", "cpu.mems", "process.ioPriority" })
            Assert.Contains(r.Warnings, w => w.Contains(field));
    }

    [Fact]
    public void HooksAreReadAsGiven()
    {
        var r = Convert(c => c["hooks"] = JsonNode.Parse("""
            {"createRuntime":[{"path":"/bin/a","args":["a","-x"],"env":["K=V"],"timeout":5},{"path":"/bin/b"}],
             "poststop":[{"path":"/bin/c"}]}
            """));
        var hooks = r.Spec.Bundle!.Hooks!;
        Assert.Equal(2, hooks.CreateRuntime.Count);
        Assert.Equal(new BundleHook("/bin/a", ["a", "-x"], ["K=V"], 5) with { Args = hooks.CreateRuntime[0].Args, Env = hooks.CreateRuntime[0].Env }, hooks.CreateRuntime[0]);
        Assert.Equal(["a", "-x"], hooks.CreateRuntime[0].Args);
        Assert.Equal(["K=V"], hooks.CreateRuntime[0].Env!);
        Assert.Null(hooks.CreateRuntime[1].Env);
        Assert.Empty(hooks.Prestart);
        Assert.Single(hooks.Poststop);
    }
}
