using Sandbox.Core;

namespace Sandbox.Core.Tests;

public sealed class UlimitTests
{
    [Theory]
    [InlineData("nofile=1024:4096", "nofile", 1024, 4096)]
    [InlineData("nofile=2048", "nofile", 2048, 2048)]
    [InlineData("core=0:-1", "core", 0, -1)]
    [InlineData("stack=unlimited", "stack", -1, -1)]
    public void Parses_dockers_form(string text, string name, long soft, long hard) =>
        Assert.Equal(new Ulimit(name, soft, hard), Ulimit.Parse(text));

    [Theory]
    [InlineData("nofiles=1", "unknown limit 'nofiles'")]
    [InlineData("nofile", "expected NAME=SOFT[:HARD]")]
    [InlineData("nofile=10:5", "the soft limit exceeds the hard limit")]
    [InlineData("nofile=x", "'x' is not a number")]
    [InlineData("nofile=2000000", "nofile cannot exceed 1048576")]
    [InlineData("nproc=1:2:3", "expected NAME=SOFT[:HARD]")]
    public void Bad_values_are_one_clear_error(string text, string why)
    {
        var e = Assert.Throws<SandboxException>(() => Ulimit.Parse(text));
        Assert.Equal(SandboxFailure.InvalidSpec, e.Reason);
        Assert.Contains(why, e.Message);
        Assert.Contains($"--ulimit '{text.Split('=')[0]}", e.Message);
    }

    [Fact]
    public void The_default_table_covers_every_limit_and_overrides_replace_by_name()
    {
        var table = Ulimit.Effective([new Ulimit("nofile", 10, 20)], capAt: null);
        Assert.Equal(16, table.Count);
        Assert.Equal(Ulimit.Resources.Keys.Order(), table.Select(u => u.Name).Order());
        Assert.Equal(new Ulimit("nofile", 10, 20), table.Single(u => u.Name == "nofile"));
        Assert.Equal(new Ulimit("nproc", 4194304, 4194304), table.Single(u => u.Name == "nproc"));
    }

    [Fact]
    public void Without_CAP_SYS_RESOURCE_the_defaults_are_capped_at_the_runtimes_own_hard_limits_but_overrides_are_not()
    {
        var caps = new Dictionary<int, long> { [7] = 20000, [6] = 96362, [3] = Ulimit.Unlimited };
        var table = Ulimit.Effective([new Ulimit("nproc", 500000, 500000)], caps);
        Assert.Equal(new Ulimit("nofile", 20000, 20000), table.Single(u => u.Name == "nofile"));
        Assert.Equal(new Ulimit("nproc", 500000, 500000), table.Single(u => u.Name == "nproc"));
        Assert.Equal(new Ulimit("stack", 8 << 20, Ulimit.Unlimited), table.Single(u => u.Name == "stack"));
    }
}
