namespace Sandbox.Benchmarking;

/// <summary>Finds the qemu processes libvirt started for Sandbox's domains (named <c>sandbox-…</c>).</summary>
public static class QemuProcesses
{
    /// <summary>
    /// The qemu processes of the domains owned by a sandbox of the store at <paramref name="root"/>: libvirt's live
    /// status XML (<c>/run/libvirt/qemu/NAME.xml</c>) carries our owner metadata, store root included, and a claimed
    /// warm member's was rewritten to its claimer. Other stores' guests on the same host (other users, tests) are not
    /// counted.
    /// </summary>
    public static IReadOnlyList<int> OfStore(string root, string stateDir = "/run/libvirt/qemu")
    {
        var result = new List<int>();
        if (!Directory.Exists(stateDir)) return result;
        foreach (var xml in Directory.EnumerateFiles(stateDir, "sandbox-*.xml"))
        {
            string text;
            try { text = File.ReadAllText(xml); }
            catch (IOException) { continue; }
            var owner = System.Text.RegularExpressions.Regex.Match(text, @"<sandbox:owner\b[^>]*\broot=[""']([^""']*)[""']");
            if (!owner.Success || System.Net.WebUtility.HtmlDecode(owner.Groups[1].Value) != root) continue;
            try
            {
                if (int.TryParse(File.ReadAllText(Path.ChangeExtension(xml, ".pid")).Trim(), out int pid)) result.Add(pid);
            }
            catch (IOException) { }
        }
        return result;
    }
}
