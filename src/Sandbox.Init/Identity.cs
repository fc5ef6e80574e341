namespace Sandbox.Init;

/// <summary>The workload's user: ids, supplementary groups and home, resolved in the image's /etc/passwd and /etc/group.</summary>
public sealed record Identity(uint Uid, uint Gid, uint[] Groups, string Home)
{
    /// <summary>Parses <c>USER[:GROUP]</c> (names or numbers) against the files under <paramref name="root"/>.</summary>
    public static Identity Resolve(string user, string root)
    {
        var parts = user.Split(':', 2);
        string userPart = parts[0], groupPart = parts.Length > 1 ? parts[1] : "";
        var passwd = ReadTable(Path.Combine(root, "etc/passwd"));
        var groups = ReadTable(Path.Combine(root, "etc/group"));

        uint uid, gid = 0;
        string home = "/";
        string? name = null;
        string[]? entry = null;
        if (uint.TryParse(userPart, out uid))
            entry = passwd.FirstOrDefault(e => e.Length >= 6 && e[2] == userPart);
        else
        {
            entry = passwd.FirstOrDefault(e => e.Length >= 6 && e[0] == userPart)
                ?? throw new InitSetupException(Protocol.InitFailure.User, $"unable to find user {userPart}: no matching entries in passwd file");
            uid = ParseId(entry[2], $"user {userPart}", "/etc/passwd");
        }
        if (entry is not null)
        {
            name = entry[0];
            gid = uint.TryParse(entry[3], out var g) ? g : 0;
            if (entry[5].Length > 0) home = entry[5];
        }

        bool explicitGroup = groupPart.Length > 0;
        if (explicitGroup)
        {
            if (!uint.TryParse(groupPart, out gid))
            {
                var ge = groups.FirstOrDefault(e => e.Length >= 3 && e[0] == groupPart)
                    ?? throw new InitSetupException(Protocol.InitFailure.User, $"unable to find group {groupPart}: no matching entries in group file");
                gid = ParseId(ge[2], $"group {groupPart}", "/etc/group");
            }
        }

        // Supplementary groups: every group that lists the user by name (as runc and login do).
        var supplementary = new List<uint> { gid };
        if (name is not null && !explicitGroup)
        {
            foreach (var ge in groups)
            {
                if (ge.Length >= 4 && uint.TryParse(ge[2], out var id) && ge[3].Split(',').Contains(name) && !supplementary.Contains(id))
                    supplementary.Add(id);
            }
        }
        return new Identity(uid, gid, supplementary.ToArray(), home);
    }

    private static uint ParseId(string text, string what, string file) =>
        uint.TryParse(text, out var id) ? id
        : throw new InitSetupException(Protocol.InitFailure.User, $"{what}: its id '{text}' in the image's {file} is not a number");

    private static List<string[]> ReadTable(string path)
    {
        var rows = new List<string[]>();
        if (!File.Exists(path)) return rows;
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            rows.Add(line.Split(':'));
        }
        return rows;
    }
}
