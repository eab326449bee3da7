"""Names that monarchs and popes reign under, in the seven languages' spellings: a roman numeral
after one of them is a ruler's ordinal (Henry VIII: the eighth; Louis XIV, Felipe VI). After
another name a numeral of two letters or more is a number (Rocky II: two; Final Fantasy VII:
seven), and a lone V or X is left as written (Malcolm X, Model X)."""

from __future__ import annotations

RULERS = frozenset("""
Adolf Afonso Albert Alberto Alexander Alexandre Alexios Alfonso Alfred Amadeus Amenhotep Andronikos
Anne Anna Antiochus Augustus Baldwin Basil Benedict Benedetto Benedikt Boniface Bonifatius Carl Carlo
Carlos Casimir Catherine Charles Christian Christina Clement Clemens Clemente Constantine Cosimo
Cyrus Darius David Duarte Edmund Edward Eduard Elisabeth Emanuele Elisabetta Elizabeth Enrico Enrique Eric Erik
Ernst Felipe Ferdinand Fernando Ferdinando Filippo Francesco Francis Francisco Franz François
Frederick Friedrich Frederik Federico George Georg Giorgio Giovanni Gregor Gregorio Gregory Grégoire
Gustav Gustaf Gustavo Haakon Harald Heinrich Henri Henrique Henry Hugh Innocent Innozenz Isabel Isabella
Ivan Jacques Jaime James Jan Jean Johann Johannes John Joseph Josef José João Juan Juliana Julius
Karl Leo Leão Leopold Leopoldo León Louis Ludovico Ludwig Luigi Luis Luís Manuel Margaret Margrethe
Maria Mary Matthias Maximilian Mehmed Michael Miguel Murad Napoleon Napoléon Nicholas Nikolaus Nicolas
Olaf Olav Otto Paul Paolo Pablo Paulo Pedro Peter Philip Philipp Philippe Pierre Pietro Pio Pius
Ptolemy Rama Ramesses Ramses Richard Robert Roberto Rudolf Sancho Sebastian Sebastião Selim Sigismund
Sixtus Stephen Stefan Suleiman Thutmose Umberto Urban Urbano Valdemar Victor Vittorio Wilhelm
Willem William Władysław Zog
""".split())
