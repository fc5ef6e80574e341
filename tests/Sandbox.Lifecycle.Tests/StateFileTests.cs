using Xunit;

namespace Sandbox.Lifecycle.Tests;

/// <summary>
/// A damaged <c>run/&lt;id&gt;/state.json</c> (truncated by a full disk or a crash of another tool, overwritten with
/// garbage, emptied, or a record that is not this sandbox's): every command naming it gives one line naming the file and
/// the way back, <c>ps</c> still lists the others (with one warning line), and <c>rm -f</c> removes what is left without
/// touching the image.
/// </summary>
public sealed class StateFileTests(Cli cli) : IClassFixture<Cli>
{
    public static TheoryData<string> Damages => ["truncated", "garbage", "empty", "null", "other-id"];

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task A_damaged_state_file_is_named_and_rm_f_is_the_way_back(string damage)
    {
        var broken = (await cli.OkAsync("run", "-d", "busybox", "true")).Trim();
        Assert.Equal("0", (await cli.OkAsync("wait", broken)).Trim());
        var healthy = (await cli.OkAsync("create", "busybox", "true")).Trim();
        var state = Path.Combine(cli.RunDir, broken, "state.json");
        var bytes = await File.ReadAllBytesAsync(state);
        await File.WriteAllBytesAsync(state, damage switch
        {
            "truncated" => bytes[..(bytes.Length / 2)],
            "garbage" => [0x7f, 0x45, 0x4c, 0x46, 0x00, 0xff, 0x10, 0x20],
            "empty" => [],
            "null" => "null"u8.ToArray(),
            _ => System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(bytes).Replace(broken, healthy)),
        });

        // ps: the healthy sandbox is listed; the damaged one is one warning line naming the file and rm -f.
        var ps = await cli.RunAsync("ps", "-a", "--no-trunc");
        Assert.True(ps.Code == 0, ps.Stderr);
        Assert.Contains(healthy, ps.Stdout);
        Assert.DoesNotContain(broken, ps.Stdout);
        var warning = Assert.Single(ps.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("sandbox: warning: the state file " + state + " of sandbox " + broken + " is unreadable", warning);
        Assert.EndsWith($"'sandbox rm -f {broken}' removes the sandbox (images are kept)", warning);

        // Commands on it: one line, exit 125, naming the file and the way back.
        foreach (var command in new[] { new[] { "inspect", broken }, ["start", broken], ["rm", broken], ["logs", broken] })
        {
            var line = await cli.RefusedAsync(command);
            Assert.Contains(state, line);
            Assert.Contains($"'sandbox rm -f {broken}'", line);
        }
        Assert.True(File.Exists(state), "a refused command removed the state");

        // The way back: rm -f removes it and everything it had; the image and the other sandbox stay.
        Assert.Equal(broken, (await cli.OkAsync("rm", "-f", broken)).Trim());
        cli.AssertNothingLeft([broken]);
        var after = await cli.RunAsync("ps", "-a", "-q", "--no-trunc");
        Assert.Equal((0, ""), (after.Code, after.Stderr));
        Assert.Equal(healthy, after.Stdout.Trim());
        Assert.Contains("busybox", await cli.OkAsync("images"));
        await cli.OkAsync("rm", "-f", healthy);
        cli.AssertNothingLeft([healthy]);
    }
}
