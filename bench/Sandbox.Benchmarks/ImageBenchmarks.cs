using System.Formats.Tar;
using BenchmarkDotNet.Attributes;
using Sandbox.Core;
using Sandbox.Images;
using Sandbox.Images.Erofs;

namespace Sandbox.Benchmarks;

/// <summary>
/// Image store costs: importing and unpacking a 64 MiB rootfs tarball (sha256 + tar + contained unpack), and writing
/// the EROFS block image of the unpacked rootfs (the micro-VM's root disk). Needs root (chown in the unpack).
/// </summary>
[MemoryDiagnoser]
public class ImageBenchmarks
{
    private string _dir = "";
    private string _tarball = "";
    private string _rootfs = "";
    private int _round;

    [GlobalSetup]
    public async Task Setup()
    {
        _dir = Directory.CreateTempSubdirectory("sandbox-bench-images-").FullName;
        // 64 MiB in 512 files of 128 KiB across 16 directories, plus busybox: a small but real image.
        var tree = Path.Combine(_dir, "tree");
        for (int d = 0; d < 16; d++)
        {
            var dir = Directory.CreateDirectory(Path.Combine(tree, "usr", "lib", $"d{d}")).FullName;
            for (int f = 0; f < 32; f++)
            {
                var data = new byte[128 * 1024];
                new Random(d * 100 + f).NextBytes(data);
                await File.WriteAllBytesAsync(Path.Combine(dir, $"f{f}.bin"), data);
            }
        }
        Directory.CreateDirectory(Path.Combine(tree, "bin"));
        File.Copy("/bin/busybox", Path.Combine(tree, "bin", "busybox"));
        _tarball = Path.Combine(_dir, "rootfs.tar");
        await TarFile.CreateFromDirectoryAsync(tree, _tarball, includeBaseDirectory: false);

        var store = new ImageStore(new SandboxPaths(Path.Combine(_dir, "seed")));
        await store.ImportAsync(_tarball, "bench:seed");
        using var lease = await store.AcquireAsync("bench:seed", RootfsForm.Directory);
        _rootfs = lease.RootfsPath;
    }

    /// <summary>Import + unpack into a fresh store each time (nothing cached).</summary>
    [Benchmark]
    public async Task ImportAndUnpack64MiB()
    {
        var root = Path.Combine(_dir, $"store-{_round++}");
        var store = new ImageStore(new SandboxPaths(root));
        await store.ImportAsync(_tarball, "bench:latest");
        using (await store.AcquireAsync("bench:latest", RootfsForm.Directory)) { }
        Directory.Delete(root, true);
    }

    [Benchmark]
    public async Task ErofsImageOf64MiBRootfs()
    {
        var image = Path.Combine(_dir, "bench.erofs");
        await ErofsImageWriter.WriteAsync(_rootfs, image);
        File.Delete(image);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, true);
}
