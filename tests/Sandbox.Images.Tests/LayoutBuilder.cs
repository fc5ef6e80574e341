using System.Security.Cryptography;
using System.Text;

namespace Sandbox.Images.Tests;

/// <summary>Writes an OCI image layout by hand, so tests can make layouts that are hostile or broken on purpose.</summary>
public static class LayoutBuilder
{
    public static string Sha(byte[] b) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(b));

    /// <summary>Layers are uncompressed tars (gzip-compressed when <paramref name="gzip"/>); returns the layout dir.</summary>
    public static string Write(string dir, IReadOnlyList<byte[]> layerTars, bool gzip = true, string refName = "latest",
        string? layerMediaType = null, string? configJson = null, string? cmd = "[\"/bin/sh\"]")
    {
        var blobs = Path.Combine(dir, "blobs", "sha256");
        Directory.CreateDirectory(blobs);
        string Put(byte[] b)
        {
            var d = Sha(b);
            File.WriteAllBytes(Path.Combine(blobs, d[7..]), b);
            return d;
        }
        var layers = new List<string>();
        foreach (var tar in layerTars)
        {
            var blob = gzip ? TarBuilder.Gzip(tar) : tar;
            var d = Put(blob);
            var mt = layerMediaType ?? (gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar");
            layers.Add($"{{\"mediaType\":\"{mt}\",\"digest\":\"{d}\",\"size\":{blob.Length}}}");
        }
        var diffIds = string.Join(",", layerTars.Select(t => $"\"{Sha(t)}\""));
        var config = Encoding.UTF8.GetBytes(configJson ??
            $"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{\"Env\":[\"PATH=/bin\"],\"Cmd\":{cmd},\"WorkingDir\":\"/\"}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[{diffIds}]}}}}");
        var configDigest = Put(config);
        var manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{configDigest}\",\"size\":{config.Length}}},\"layers\":[{string.Join(",", layers)}]}}");
        var manifestDigest = Put(manifest);
        File.WriteAllText(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        File.WriteAllText(Path.Combine(dir, "index.json"),
            $"{{\"schemaVersion\":2,\"manifests\":[{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"{manifestDigest}\",\"size\":{manifest.Length},\"annotations\":{{\"org.opencontainers.image.ref.name\":\"{refName}\"}}}}]}}");
        return dir;
    }

    /// <summary>The blob file of the n-th layer (0-based) of the layout's only image.</summary>
    public static string LayerBlob(string dir, int n)
    {
        var index = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "index.json")));
        var m = index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString()![7..];
        var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "blobs", "sha256", m)));
        var d = manifest.RootElement.GetProperty("layers")[n].GetProperty("digest").GetString()![7..];
        return Path.Combine(dir, "blobs", "sha256", d);
    }
}
