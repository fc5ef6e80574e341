using System.Text;
using System.Text.Json;
using Sandbox.Images.Oci;

namespace Sandbox.Images;

/// <summary>
/// A damaged <c>index.json</c> loses no image. Every index write also writes <c>names/HEX</c> (the tags of that
/// image); when the index cannot be read (truncated, garbage, valid JSON of the wrong shape), it is moved aside to
/// <c>index.json.corrupt-TIME</c> and rebuilt from the blobs: every manifest blob whose config blob is present is an
/// image, named from its <c>names/</c> file, or <c>recovered:HEX12</c> when that is gone too. A warning names the file.
/// See docs/images.md, "Damaged metadata".
/// </summary>
public sealed partial class ImageStore
{
    /// <summary>The index, or null with <paramref name="problem"/> saying what is wrong with it.</summary>
    private static StoreIndex? ParseIndex(byte[] bytes, out string problem)
    {
        problem = "";
        StoreIndex? index;
        try
        {
            index = JsonSerializer.Deserialize(bytes, ImagesJsonContext.Default.StoreIndex);
        }
        catch (JsonException e)
        {
            problem = "malformed JSON: " + e.Message.ReplaceLineEndings(" ");
            return null;
        }
        if (index?.Images is null)
        {
            problem = "no image list";
            return null;
        }
        foreach (var e in index.Images)
        {
            if (e is null || string.IsNullOrEmpty(e.Name) || string.IsNullOrEmpty(e.Tag) || !Digests.IsValid(e.Digest))
            {
                problem = "an entry without a name, tag or valid digest";
                return null;
            }
        }
        return index;
    }

    private StoreIndex RebuildIndex(string problem)
    {
        // Another process may have rebuilt it a moment ago: the rename below is the claim, so read again first.
        var keptAs = $"{_layout.IndexFile}.corrupt-{DateTime.UtcNow:yyyyMMddTHHmmssfff}";
        try
        {
            File.Move(_layout.IndexFile, keptAs);
        }
        catch (FileNotFoundException)
        {
            if (File.Exists(_layout.IndexFile) && ParseIndex(File.ReadAllBytes(_layout.IndexFile), out _) is { } theirs) return theirs;
        }

        var index = new StoreIndex();
        int recovered = 0;
        foreach (var (digest, manifest) in StoredManifests())
        {
            if (!File.Exists(_layout.Blob(manifest.Config!.Digest!))) continue;
            var imported = File.GetLastWriteTimeUtc(_layout.Blob(digest));
            var names = ReadNames(digest);
            if (names.Count == 0)
            {
                names.Add(("recovered", Digests.Short(digest)));
                recovered++;
            }
            foreach (var (name, tag) in names)
                index.Images.Add(new StoreIndexEntry { Name = name, Tag = tag, Digest = digest, Imported = imported });
        }
        var tmp = $"{_layout.IndexFile}.{Environment.ProcessId}.new";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(f, index, ImagesJsonContext.Default.StoreIndex);
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, _layout.IndexFile, overwrite: true);
        WriteNames(index);
        ImagesLog.IndexRebuilt(_logger, _layout.IndexFile, problem, keptAs, index.Images.Select(e => e.Digest).Distinct().Count(), recovered);
        return index;
    }

    /// <summary>Blobs that are image manifests (small JSON with schemaVersion 2, a config and a layer list).</summary>
    private IEnumerable<(string Digest, OciManifest Manifest)> StoredManifests()
    {
        if (!Directory.Exists(_layout.Blobs)) yield break;
        foreach (var path in Directory.EnumerateFiles(_layout.Blobs))
        {
            var digest = Digests.Prefix + Path.GetFileName(path);
            if (!Digests.IsValid(digest) || new FileInfo(path).Length > 4 << 20) continue;
            OciManifest? manifest = null;
            try
            {
                var bytes = File.ReadAllBytes(path);
                if (bytes is [(byte)'{', ..])
                    manifest = JsonSerializer.Deserialize(bytes, ImagesJsonContext.Default.OciManifest);
            }
            catch (JsonException) { }
            if (manifest is { SchemaVersion: 2, Layers: not null } && Digests.IsValid(manifest.Config?.Digest))
                yield return (digest, manifest);
        }
    }

    private List<(string Name, string Tag)> ReadNames(string digest)
    {
        var result = new List<(string, string)>();
        try
        {
            foreach (var line in File.ReadAllLines(_layout.Names(digest)))
            {
                int colon = line.LastIndexOf(':');
                if (colon > 0 && colon < line.Length - 1 && !line[(colon + 1)..].Contains('/'))
                    result.Add((line[..colon], line[(colon + 1)..]));
            }
        }
        catch (IOException) { }
        return result;
    }

    /// <summary>Keeps <c>names/</c> equal to the index: one file per image, its <c>name:tag</c> lines.</summary>
    private void WriteNames(StoreIndex index)
    {
        Directory.CreateDirectory(_layout.NamesDir);
        var byDigest = index.Images.GroupBy(e => e.Digest).ToDictionary(g => Digests.Hex(g.Key, "image"),
            g => string.Concat(g.Select(e => $"{e.Name}:{e.Tag}\n")), StringComparer.Ordinal);
        foreach (var (hex, text) in byDigest)
        {
            var path = Path.Combine(_layout.NamesDir, hex);
            if (File.Exists(path) && File.ReadAllText(path) == text) continue;
            File.WriteAllText(path + ".new", text, Encoding.UTF8);
            File.Move(path + ".new", path, overwrite: true);
        }
        foreach (var path in Directory.EnumerateFiles(_layout.NamesDir))
        {
            var name = Path.GetFileName(path);
            if (!byDigest.ContainsKey(name) && !name.EndsWith(".new", StringComparison.Ordinal)) File.Delete(path);
        }
    }
}
