using Xunit;

namespace Sandbox.Lifecycle.Tests;

/// <summary><c>sandbox cp</c> in both directions, running and stopped, with modes and symlinks; escapes refused.</summary>
public sealed class CpTests : IClassFixture<Cli>, IDisposable
{
    private readonly Cli _cli;
    private readonly string _host = Directory.CreateTempSubdirectory("sandbox-cp-test-").FullName;

    public CpTests(Cli cli) => _cli = cli;

    public void Dispose() => Directory.Delete(_host, true);

    private void MakeTree(string dir)
    {
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, "script.sh"), "#!/bin/sh\necho hi\n");
        File.SetUnixFileMode(Path.Combine(dir, "script.sh"), (UnixFileMode)0x1ed); // 0755
        File.WriteAllText(Path.Combine(dir, "sub", "secret"), "s3cret\n");
        File.SetUnixFileMode(Path.Combine(dir, "sub", "secret"), (UnixFileMode)0x180); // 0600
        File.CreateSymbolicLink(Path.Combine(dir, "link"), "sub/secret");
        File.CreateSymbolicLink(Path.Combine(dir, "abs"), "/etc/hostname");
    }

    private static void AssertSameTree(string expected, string actual)
    {
        foreach (var rel in new[] { "script.sh", "sub/secret" })
        {
            Assert.Equal(File.ReadAllText(Path.Combine(expected, rel)), File.ReadAllText(Path.Combine(actual, rel)));
            Assert.Equal(File.GetUnixFileMode(Path.Combine(expected, rel)), File.GetUnixFileMode(Path.Combine(actual, rel)));
        }
        Assert.Equal("sub/secret", new FileInfo(Path.Combine(actual, "link")).LinkTarget);
        Assert.Equal("/etc/hostname", new FileInfo(Path.Combine(actual, "abs")).LinkTarget);
    }

    [Fact]
    public async Task ATreeRoundTripsThroughARunningAndAStoppedContainer()
    {
        var tree = Path.Combine(_host, "tree");
        MakeTree(tree);
        var id = (await _cli.OkAsync("run", "-d", "busybox", "sleep", "1000")).Trim();
        await _cli.OkAsync("cp", tree, $"{id}:/data");                      // missing destination: takes the name
        var ls = await _cli.RunAsync("exec", id, "sh", "-c", "stat -c '%a %n' /data/script.sh /data/sub/secret; readlink /data/link");
        Assert.Equal("755 /data/script.sh\n600 /data/sub/secret\nsub/secret\n", ls.Stdout);
        await _cli.OkAsync("cp", $"{id}:/data", Path.Combine(_host, "back"));
        AssertSameTree(tree, Path.Combine(_host, "back"));

        // Stopped: the writable layer is still there, both ways.
        await _cli.OkAsync("stop", "-t", "1", id);
        await _cli.OkAsync("cp", $"{id}:/data/.", Path.Combine(_host, "stopped"));
        AssertSameTree(tree, Path.Combine(_host, "stopped"));
        File.WriteAllText(Path.Combine(_host, "new.txt"), "new\n");
        await _cli.OkAsync("cp", Path.Combine(_host, "new.txt"), $"{id}:/data/");
        await _cli.OkAsync("start", id);
        Assert.Equal("new\n", (await _cli.RunAsync("exec", id, "cat", "/data/new.txt")).Stdout);
        await _cli.OkAsync("rm", "-f", id);
        _cli.AssertNothingLeft([id]);
    }

    [Fact]
    public async Task PathsThatEscapeTheRootfsStayInsideOrAreRefused()
    {
        var id = (await _cli.OkAsync("run", "-d", "busybox", "sh", "-c", "ln -s /../../../../../../.. /escape; ln -s /../../../../tmp /tmplink; sleep 1000")).Trim();
        for (int i = 0; i < 100 && (await _cli.RunAsync("exec", id, "test", "-L", "/tmplink")).Code != 0; i++) await Task.Delay(100);
        var marker = Path.Combine("/tmp", $"sandbox-cp-escape-{Guid.NewGuid():N}");
        File.WriteAllText(Path.Combine(_host, "payload"), "payload\n");
        // Through the planted symlinks, the copy lands in the sandbox's own /tmp, never the host's.
        await _cli.OkAsync("cp", Path.Combine(_host, "payload"), $"{id}:/tmplink/{Path.GetFileName(marker)}");
        Assert.False(File.Exists(marker), "cp followed a sandbox symlink onto the host");
        var inside = await _cli.RunAsync("exec", id, "cat", $"/tmp/{Path.GetFileName(marker)}");
        Assert.True(inside.Stdout == "payload\n", $"exit {inside.Code}: {inside.Stdout} {inside.Stderr}");
        // Reading through ".." or the link reads the sandbox's files, not the host's.
        await _cli.OkAsync("cp", $"{id}:/escape/etc/hostname", Path.Combine(_host, "hostname"));
        Assert.NotEqual(File.ReadAllText("/etc/hostname"), File.ReadAllText(Path.Combine(_host, "hostname")));
        await _cli.OkAsync("cp", $"{id}:/../../../etc/hostname", Path.Combine(_host, "hostname2"));
        Assert.Equal(File.ReadAllText(Path.Combine(_host, "hostname")), File.ReadAllText(Path.Combine(_host, "hostname2")));
        // A tar whose entries climb out is refused.
        var tarPath = Path.Combine(_host, "evil.tar");
        using (var f = File.Create(tarPath))
        using (var w = new System.Formats.Tar.TarWriter(f))
        {
            var e = new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "../../../../" + marker.TrimStart('/'));
            e.DataStream = new MemoryStream("evil\n"u8.ToArray());
            w.WriteEntry(e);
        }
        using (var p = _cli.Start("cp", "-", $"{id}:/tmp"))
        {
            await using (var input = File.OpenRead(tarPath)) await input.CopyToAsync(p.StandardInput.BaseStream);
            p.StandardInput.Close();
            var err = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.Equal(125, p.ExitCode);
            Assert.Contains("escapes", err);
        }
        Assert.False(File.Exists(marker));
        await _cli.OkAsync("rm", "-f", id);
    }
}
