using System.Formats.Tar;
using System.Text.RegularExpressions;
using Sandbox.Core;

namespace Sandbox.Images;

/// <summary>Tells the import forms apart by content: layout marker files, archive members, magic bytes.</summary>
internal static partial class ImportSourceProbe
{
    [GeneratedRegex(@"^(oci-layout|index\.json|manifest\.json|repositories|blobs(/.*)?|[0-9a-f]{64}(\.json|\.tar|/.*)?)$")]
    private static partial Regex ArchiveMember();

    public static ImportSourceKind Probe(string path)
    {
        if (Directory.Exists(path))
        {
            if (File.Exists(Path.Combine(path, "oci-layout")) && File.Exists(Path.Combine(path, "index.json"))) return ImportSourceKind.OciLayout;
            if (File.Exists(Path.Combine(path, "manifest.json")) && !Directory.Exists(Path.Combine(path, "etc"))) return ImportSourceKind.DockerArchive;
            return ImportSourceKind.RootfsDirectory;
        }
        if (!File.Exists(path)) throw new SandboxException(SandboxFailure.Image, $"{path}: no such file or directory");

        var compression = Compression.Detect(path);
        using var stream = Compression.Decompress(File.OpenRead(path), compression);
        var head = new byte[512];
        int n = 0;
        try
        {
            while (n < head.Length && stream.Read(head, n, head.Length - n) is int r and > 0) n += r;
        }
        catch (InvalidDataException e)
        {
            throw new SandboxException(SandboxFailure.Image, $"{path}: corrupt {compression} data ({e.Message})", e);
        }
        if (!Compression.LooksLikeTar(head.AsSpan(0, n)))
            throw new SandboxException(SandboxFailure.Image, $"{path}: not a tar archive, OCI layout or directory");

        // Image archives hold only a few well-known names; the first other name means a rootfs tarball.
        using var again = Compression.Decompress(File.OpenRead(path), compression);
        using var reader = new TarReader(again);
        bool ociLayout = false, dockerManifest = false;
        try
        {
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                var name = string.Join('/', entry.Name.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != "."));
                if (name.Length == 0) continue;
                if (!ArchiveMember().IsMatch(name)) return ImportSourceKind.RootfsTarball;
                if (name == "oci-layout") ociLayout = true;
                if (name == "manifest.json") dockerManifest = true;
            }
        }
        catch (Exception e) when (TarErrors.IsCorrupt(e))
        {
            throw new SandboxException(SandboxFailure.Image, $"{path}: corrupt tar archive ({e.Message})", e);
        }
        return dockerManifest ? ImportSourceKind.DockerArchive : ociLayout ? ImportSourceKind.OciArchive : ImportSourceKind.RootfsTarball;
    }
}
