"""MariaDB's own count of the statements it received (`Questions`), less what reading it adds.

`Questions` is server-wide, so other clients add noise; reading it costs a connection's set-up
and the SHOW itself, measured once and subtracted from every figure.
"""

import os

import pymysql


def questions(host: str, port: int) -> int:
    with pymysql.connect(host=host, port=port, user=os.environ.get("MYSQL_USER", "root"),
                         password=os.environ.get("MYSQL_PASSWORD", "")) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
        return int(cursor.fetchone()[1])


class StatementCounter:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        first = questions(host, port)
        self.overhead = questions(host, port) - first
        self._before = 0

    def start(self) -> None:
        self._before = questions(self.host, self.port)

    def stop(self) -> int:
        """Statements the server received since `start`, the counter's own reads excluded."""
        return questions(self.host, self.port) - self._before - self.overhead
