namespace Sandbox.Init;

/// <summary>
/// Resolves a path inside a root directory the way the workload will see it, following symlinks but never leaving
/// the root (runc's securejoin): a hostile image cannot make a volume or /etc/hosts bind land on the host.
/// </summary>
public static class PathInRoot
{
    public static string Resolve(string root, string path)
    {
        root = root.TrimEnd('/'); // "/" (after the root switch) joins as "" + "/a"
        var pending = new Stack<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var resolved = new List<string>();
        int links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".") continue;
            if (part == "..")
            {
                if (resolved.Count > 0) resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            var candidate = root + "/" + string.Join('/', resolved.Append(part));
            if (new FileInfo(candidate).LinkTarget is string target)
            {
                if (++links > 40) throw new IOException($"too many symbolic links resolving {path}");
                if (target.StartsWith('/')) resolved.Clear();
                foreach (var p in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(p);
                continue;
            }
            resolved.Add(part);
        }
        return resolved.Count == 0 ? (root.Length == 0 ? "/" : root) : root + "/" + string.Join('/', resolved);
    }

    /// <summary>
    /// mkdir -p of <paramref name="resolved"/> (a result of <see cref="Resolve"/>, so without symlinks) under
    /// <paramref name="root"/>, naming the component that is in the way when one is a file: "Could not find a part of
    /// the path" would send the user looking for something missing.
    /// </summary>
    public static void CreateDirectory(string root, string resolved, Protocol.InitFailure failure, string what)
    {
        root = root.TrimEnd('/');
        var inRoot = resolved[root.Length..];
        var current = root;
        foreach (var part in inRoot.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            current += "/" + part;
            if (File.Exists(current))
                throw new InitSetupException(failure, $"{what}: {(root.Length == 0 ? current : current[root.Length..])} in the image is a file, not a directory", 20 /* ENOTDIR */);
        }
        Workload.Try(failure, what, () => Directory.CreateDirectory(resolved));
    }
}
