using Sandbox.Core;
using Xunit;

namespace Sandbox.Core.Tests;

public sealed class SandboxTimingsTests
{
    [Fact]
    public void The_raw_line_carries_the_steps_and_parses_back()
    {
        var t = new SandboxTimings { Requested = 1_000, Created = 2_000, Boot = "cold" };
        t.Step("libvirt-connected", 1_500);
        t.Step("kernel", 2_100);
        var line = t.ToRawLine("tcg");
        Assert.EndsWith(" steps=libvirt-connected@1500,kernel@2100", line);
        Assert.True(SandboxTimings.TryParseRawLine(line, out var back, out var accel));
        Assert.Equal("tcg", accel);
        Assert.Equal(2_000, back.Created);
        Assert.Equal([("libvirt-connected", 1_500L), ("kernel", 2_100L)], back.Steps);
        Assert.Equal([("libvirt-connected", 0.0005), ("kernel", 0.0011)], back.StepsSinceRequest());
    }

    [Fact]
    public void A_line_without_steps_has_none()
    {
        var line = new SandboxTimings { Requested = 5 }.ToRawLine(null);
        Assert.DoesNotContain("steps=", line);
        Assert.True(SandboxTimings.TryParseRawLine(line, out var back, out _));
        Assert.Empty(back.Steps);
    }
}
