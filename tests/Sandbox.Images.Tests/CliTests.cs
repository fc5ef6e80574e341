using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using Xunit;

namespace Sandbox.Images.Tests;

/// <summary>The published <c>sandbox</c> binary's image commands (SANDBOX_CLI, else &lt;repo&gt;/out/bin/sandbox).</summary>
public sealed class CliTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Cli()
    {
        var env = Environment.GetEnvironmentVariable("SANDBOX_CLI");
        if (!string.IsNullOrEmpty(env)) return env;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Sandbox.sln")))
            {
                var p = Path.Combine(d.FullName, "out", "bin", "sandbox");
                Assert.True(File.Exists(p), $"the sandbox CLI is not built ({p}); run ./scripts/build.sh or ./test.sh");
                return p;
            }
        throw new InvalidOperationException("cannot find the repository root (Sandbox.sln) nor SANDBOX_CLI");
    }

    private ProcessStartInfo Start(params string[] args)
    {
        var psi = new ProcessStartInfo(Cli()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--root");
        psi.ArgumentList.Add(_dir.StoreRoot);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    private (int Code, string Out, string Err) Run(params string[] args)
    {
        using var p = Process.Start(Start(args))!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, o.Result, e.Result);
    }

    [Fact]
    public void Import_list_inspect_remove()
    {
        var tar = _dir.Sub("my-rootfs.tar.gz");
        File.WriteAllBytes(tar, TarBuilder.Gzip(new TarBuilder().File("etc/hello", "hi").ToArray()));
        var (code, output, err) = Run("image", "import", tar, "--name", "demo:1.0");
        Assert.True(code == 0, err);
        Assert.StartsWith("demo:1.0 sha256:", output);

        (code, output, err) = Run("images", "--format", "json");
        Assert.True(code == 0, err);
        var list = JsonDocument.Parse(output).RootElement;
        Assert.Equal("demo", list[0].GetProperty("name").GetString());
        Assert.Equal("1.0", list[0].GetProperty("tag").GetString());
        var digest = list[0].GetProperty("digest").GetString()!;

        (code, output, _) = Run("images");
        Assert.Equal(0, code);
        Assert.Matches(@"NAME\s+TAG\s+DIGEST\s+SIZE\s+CREATED", output);
        Assert.Contains(digest[7..19], output);

        (code, output, err) = Run("image", "inspect", "demo:1.0");
        Assert.True(code == 0, err);
        var details = JsonDocument.Parse(output).RootElement;
        Assert.Equal(digest, details.GetProperty("digest").GetString());
        var rootfs = details.GetProperty("rootfs").GetString()!;
        Assert.Equal("hi", File.ReadAllText(Path.Combine(rootfs, "etc/hello")));
        Assert.Equal(1, details.GetProperty("layers").GetArrayLength());
        Assert.Equal("layers", details.GetProperty("config").GetProperty("rootfs").GetProperty("type").GetString());

        (code, output, err) = Run("image", "rm", "demo:1.0");
        Assert.True(code == 0, err);
        Assert.Contains("Untagged: demo:1.0", output);
        Assert.False(Directory.Exists(rootfs));
        (code, output, _) = Run("images", "--format", "json");
        Assert.Equal("[]", output.Trim());
    }

    [Fact]
    public void Errors_are_one_line_and_exit_125()
    {
        var (code, output, err) = Run("image", "import", _dir.Sub("does-not-exist.tar"));
        Assert.Equal(125, code);
        Assert.Equal("", output);
        Assert.Single(err.Trim().Split('\n'));
        Assert.StartsWith("sandbox: ", err);
        Assert.Contains("no such file", err);

        (code, _, err) = Run("image", "inspect", "nosuch");
        Assert.Equal(125, code);
        Assert.Contains("not found", err);
    }

    [Fact]
    public async Task Import_killed_with_sigkill_leaves_nothing_after_the_next_command()
    {
        var big = BigTarball();
        using var p = Process.Start(Start("image", "import", big, "--name", "killed:1"))!;
        var tmp = Path.Combine(_dir.ImagesDir, "tmp");
        bool unpacking = await WaitForUnpackAsync(p);
        Assert.True(unpacking, "the import finished (or never started unpacking) before it could be killed");
        p.Kill();
        await p.WaitForExitAsync();
        Assert.NotEmpty(Directory.EnumerateFileSystemEntries(tmp)); // the half import is there...

        var (code, output, err) = Run("images", "--format", "json");
        Assert.True(code == 0, err);
        Assert.Equal("[]", output.Trim());                          // ...never visible...
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp));    // ...and gone after the next command.
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_dir.ImagesDir, "rootfs")));
    }

    [Fact]
    public async Task Import_interrupted_with_sigterm_cleans_up_on_the_way_out()
    {
        var big = BigTarball();
        using var p = Process.Start(Start("image", "import", big, "--name", "interrupted:1"))!;
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(await WaitForUnpackAsync(p), "the import finished (or never started unpacking) before it could be interrupted");
        Assert.Equal(0, Kill(p.Id, 15));
        await p.WaitForExitAsync();
        Assert.Equal(130, p.ExitCode);
        Assert.Contains("interrupted", await stderr);
        var tmp = Path.Combine(_dir.ImagesDir, "tmp");
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp)); // no next command needed
        Assert.Equal("", StoreState.Of(_dir.ImagesDir).Index);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    private string BigTarball()
    {
        // A layer that takes a while to unpack (768 MiB of zeros, a few MB compressed).
        var big = _dir.Sub("big.tar.gz");
        using var f = File.Create(big);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        using var tar = new System.Formats.Tar.TarWriter(gz);
        for (int i = 0; i < 6; i++)
            tar.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, $"zeros{i}") { DataStream = new ZeroStream(128L << 20) });
        return big;
    }

    private async Task<bool> WaitForUnpackAsync(Process p)
    {
        var tmp = Path.Combine(_dir.ImagesDir, "tmp");
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(60) && !p.HasExited)
        {
            if (Directory.Exists(tmp) && Directory.EnumerateFiles(tmp, "zeros*", SearchOption.AllDirectories).Any()) return true;
            await Task.Delay(5);
        }
        return false;
    }

    private sealed class ZeroStream(long size) : Stream
    {
        private readonly long _length = size;
        private long _left = size;
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, _left);
            Array.Clear(buffer, offset, n);
            _left -= n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => _length - _left; set => _left = _length - value; }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Position + offset,
            _ => _length + offset,
        };
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
