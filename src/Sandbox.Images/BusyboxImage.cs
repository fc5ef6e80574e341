using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using Sandbox.Core;
using Sandbox.Images.Oci;

namespace Sandbox.Images;

/// <summary>
/// The built-in <c>busybox</c> image, made locally from Debian's busybox-static as a one-layer OCI layout that then
/// goes through the ordinary import path. Every byte comes from the installed binary (times included), so the same
/// busybox gives the same digest in every process and store. The layer is plain ustar: a PAX writer names each
/// extended header <c>PaxHeaders.&lt;pid&gt;/...</c> (GNU tar's convention, and .NET's), which put the building
/// process's id into the layer and gave two racing first runs two digests.
/// </summary>
internal static class BusyboxImage
{
    public const string BinaryPath = "/bin/busybox";
    public static readonly ImageReference Reference = new("busybox", "latest");
    public const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Writes the OCI layout into <paramref name="layoutDir"/>.</summary>
    public static async Task WriteLayoutAsync(string layoutDir, CancellationToken ct)
    {
        if (!File.Exists(BinaryPath))
            throw new SandboxException(SandboxFailure.Image,
                $"the built-in busybox image needs {BinaryPath}: install it with 'apt-get install busybox-static'");
        var binary = await File.ReadAllBytesAsync(BinaryPath, ct).ConfigureAwait(false);
        var mtime = DateTimeOffset.FromUnixTimeSeconds(new DateTimeOffset(File.GetLastWriteTimeUtc(BinaryPath)).ToUnixTimeSeconds());
        var applets = await ListAppletsAsync(ct).ConfigureAwait(false);

        var layer = new MemoryStream();
        using (var tar = new TarWriter(layer, TarEntryFormat.Ustar, leaveOpen: true))
        {
            void Dir(string name, int mode) => tar.WriteEntry(new UstarTarEntry(TarEntryType.Directory, name + "/")
            { Mode = (UnixFileMode)mode, ModificationTime = mtime, Uid = 0, Gid = 0 });
            void FileEntry(string name, int mode, byte[] data) => tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name)
            { Mode = (UnixFileMode)mode, ModificationTime = mtime, DataStream = new MemoryStream(data) });

            foreach (var d in new[] { "bin", "dev", "etc", "home", "proc", "sbin", "sys", "usr", "usr/bin", "usr/sbin", "var", "var/log", "mnt", "run" })
                Dir(d, 0b111_101_101);
            Dir("root", 0b111_000_000);
            Dir("tmp", 0b1_111_111_111);
            Dir("var/tmp", 0b1_111_111_111);
            FileEntry("bin/busybox", 0b111_101_101, binary);
            FileEntry("etc/passwd", 0b110_100_100, Encoding.ASCII.GetBytes(
                "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"));
            FileEntry("etc/group", 0b110_100_100, Encoding.ASCII.GetBytes("root:x:0:\nnobody:x:65534:\n"));
            FileEntry("etc/hostname", 0b110_100_100, Encoding.ASCII.GetBytes("sandbox\n"));
            FileEntry("etc/hosts", 0b110_100_100, Encoding.ASCII.GetBytes("127.0.0.1\tlocalhost\n::1\tlocalhost\n"));
            foreach (var applet in applets)
            {
                if (applet == "bin/busybox") continue;
                tar.WriteEntry(new UstarTarEntry(TarEntryType.SymbolicLink, applet)
                { LinkName = "/bin/busybox", Mode = (UnixFileMode)0b111_111_111, ModificationTime = mtime });
            }
        }
        var layerBytes = layer.ToArray();
        var layerDigest = Digests.Of(layerBytes);

        var config = new OciImageConfig
        {
            Created = mtime,
            Architecture = "amd64",
            Os = "linux",
            Config = new OciRunConfig { Env = [DefaultPath], Cmd = ["sh"] },
            Rootfs = new OciRootfs { Type = "layers", DiffIds = [layerDigest] },
            History = [new OciHistory { Created = mtime, CreatedBy = $"sandbox: built-in image from {BinaryPath}" }],
        };
        var configBytes = JsonSerializer.SerializeToUtf8Bytes(config, ImagesJsonContext.Default.OciImageConfig);
        var manifest = new OciManifest
        {
            SchemaVersion = 2,
            MediaType = MediaTypes.OciManifest,
            Config = new OciDescriptor { MediaType = MediaTypes.OciConfig, Digest = Digests.Of(configBytes), Size = configBytes.Length },
            Layers = [new OciDescriptor { MediaType = MediaTypes.OciLayerTar, Digest = layerDigest, Size = layerBytes.Length }],
        };
        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, ImagesJsonContext.Default.OciManifest);
        var index = new OciIndex
        {
            SchemaVersion = 2,
            MediaType = MediaTypes.OciIndex,
            Manifests = [new OciDescriptor
            {
                MediaType = MediaTypes.OciManifest, Digest = Digests.Of(manifestBytes), Size = manifestBytes.Length,
                Annotations = new() { [OciLayoutSource.RefNameAnnotation] = Reference.ToString() },
            }],
        };

        var blobs = Path.Combine(layoutDir, "blobs", "sha256");
        Directory.CreateDirectory(blobs);
        foreach (var b in new[] { layerBytes, configBytes, manifestBytes })
            await File.WriteAllBytesAsync(Path.Combine(blobs, Digests.Hex(Digests.Of(b), "blob")), b, ct).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(layoutDir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}", ct).ConfigureAwait(false);
        await File.WriteAllBytesAsync(Path.Combine(layoutDir, "index.json"),
            JsonSerializer.SerializeToUtf8Bytes(index, ImagesJsonContext.Default.OciIndex), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The applets and where they go (<c>busybox --list-full</c>: <c>bin/sh</c>, <c>usr/bin/awk</c>, ...). Running the
    /// static binary once is the reliable way to learn what this build contains.
    /// </summary>
    private static async Task<List<string>> ListAppletsAsync(CancellationToken ct)
    {
        var psi = new ProcessStartInfo(BinaryPath, "--list-full")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi) ?? throw new SandboxException(SandboxFailure.Image, $"cannot run {BinaryPath}");
        var output = await process.StandardOutput.ReadToEndAsync(ct).ConfigureAwait(false);
        await process.WaitForExitAsync(ct).ConfigureAwait(false);
        if (process.ExitCode != 0)
            throw new SandboxException(SandboxFailure.Image, $"{BinaryPath} --list-full failed with exit code {process.ExitCode}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                     .Where(a => !a.Contains("..", StringComparison.Ordinal) && !a.StartsWith('/'))
                     .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }
}
