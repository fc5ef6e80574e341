namespace Sandbox.Init;

/// <summary>
/// Resolves a path inside a root directory the way the workload will see it, following symlinks but never leaving
/// the root (runc's securejoin): a hostile image cannot make a volume or /etc/hosts bind land on the host.
/// </summary>
public static class PathInRoot
{
    public static string Resolve(string root, string path)
    {
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
        return resolved.Count == 0 ? root : root + "/" + string.Join('/', resolved);
    }
}
